//go:build unix

package testenv

import (
	"syscall"
	"time"
)

// SelfCPU returns the CPU time (user+system) this process has used, for
// benchmarks that report CPU time beside wall time on a loaded host.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
