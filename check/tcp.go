package check

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// TCP is keepalived's TCP_CHECK: the target is up when a TCP connection to
// Addr completes within Timeout.
type TCP struct {
	// Addr is connect_ip and connect_port.
	Addr netip.AddrPort
	// Bind is bindto and bind_port; the zero value lets the kernel choose.
	Bind netip.AddrPort
	// Timeout is connect_timeout; zero means 5 s.
	Timeout time.Duration
}

// Check connects and closes at once. The close resets the connection
// (SO_LINGER 0) so that a checker running thousands of targets per second
// leaves no TIME_WAIT sockets behind.
func (c TCP) Check(ctx context.Context) Result {
	start := time.Now()
	ctx, cancel := withDeadline(ctx, c.Timeout)
	defer cancel()
	conn, err := dialTCP(ctx, c.Addr, c.Bind)
	if err != nil {
		return down(start, "connect", err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
	return up(start)
}
