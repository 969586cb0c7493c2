//go:build unix

package main

import (
	"syscall"
	"time"
)

// cpuTimes returns the CPU time this process has used so far, in user
// space and in the kernel, for the start's timeline: where a step's wall
// time goes (Go code, or system calls such as IPVS netlink requests).
func cpuTimes() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
