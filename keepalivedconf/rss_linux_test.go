package keepalivedconf

import (
	"os"
	"syscall"
)

// maxRSS returns the peak resident set of the largest process that ps's
// wait reaped, in bytes (ru_maxrss is in KiB on Linux).
func maxRSS(ps *os.ProcessState) int64 {
	if u, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return u.Maxrss << 10
	}
	return 0
}
