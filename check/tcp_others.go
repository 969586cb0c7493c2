//go:build !linux

package check

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"
)

// quickCheck implements quickChecker: off Linux nothing starts on the
// Monitor's loop, and the check runs on a worker.
func (c TCP) quickCheck(*quickState) (Result, Checker, bool) { return Result{}, nil, false }

// probeTCP completes one TCP handshake to addr with the standard library
// and closes the connection (a full open and close: the half-open probe
// needs Linux's TCP_DEFER_ACCEPT).
func probeTCP(ctx context.Context, addr, bind netip.AddrPort, deadline time.Time) error {
	if !addr.IsValid() {
		return errors.New("no address")
	}
	d := net.Dialer{Deadline: deadline}
	if bind.IsValid() {
		d.LocalAddr = net.TCPAddrFromAddrPort(bind)
	}
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return errTimeout
		}
		return err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0) // reset: no TIME_WAIT left behind
	}
	return c.Close()
}
