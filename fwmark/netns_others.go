//go:build !linux

package fwmark

import (
	"errors"
	"fmt"
	"runtime"
)

// errNotLinux is what every kernel-facing call returns off Linux.
var errNotLinux = fmt.Errorf("fwmark: needs Linux, not %s: %w", runtime.GOOS, errors.ErrUnsupported)

// runInNetNS runs fn; network namespaces exist only on Linux.
func runInNetNS(path string, fn func() error) error {
	if path != "" {
		return errNotLinux
	}
	return fn()
}
