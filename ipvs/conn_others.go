//go:build !linux

package ipvs

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// errNotLinux matches both ErrNotSupported and errors.ErrUnsupported.
var errNotLinux = fmt.Errorf("%w: IPVS exists only on Linux, not %s: %w", ErrNotSupported, runtime.GOOS, errors.ErrUnsupported)

// request is one netlink request; see conn_linux.go.
type request struct {
	cmd   uint8
	dump  bool
	attrs []byte
	reply func(attrs []byte) error
	reset func()
	err   error
}

// conn is unavailable outside Linux.
type conn struct{ sent int }

func dialConnSlot(context.Context, int, int) (*conn, error) {
	return nil, errNotLinux
}

func (c *conn) sibling(int) (*conn, error)            { return nil, errNotLinux }
func (c *conn) close() error                          { return nil }
func (c *conn) run(context.Context, []*request) error { return errNotLinux }
