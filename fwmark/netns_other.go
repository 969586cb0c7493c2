//go:build !linux

package fwmark

import (
	"errors"
	"runtime"
)

// runInNetNS runs fn; network namespaces exist only on Linux.
func runInNetNS(fd int, fn func() error) error {
	if fd > 0 {
		return errors.New("fwmark: network namespaces need Linux, not " + runtime.GOOS)
	}
	return fn()
}
