package check

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// UDP is keepalived's UDP_CHECK: send Payload to Addr. Without
// RequireReply the target is up unless the kernel reports the port
// unreachable (an ICMP error) before Timeout; with it, a reply whose length
// lies in [MinReply, MaxReply] must arrive.
type UDP struct {
	// Addr is connect_ip and connect_port.
	Addr netip.AddrPort
	// Bind is bindto and bind_port; zero lets the kernel choose.
	Bind netip.AddrPort
	// Payload is sent as one datagram; nil sends an empty datagram.
	Payload []byte
	// RequireReply makes a reply mandatory.
	RequireReply bool
	// MinReply and MaxReply bound the reply's length when RequireReply is
	// set; MaxReply zero means 65535.
	MinReply, MaxReply int
	// Timeout bounds the whole check; zero means 5 s.
	Timeout time.Duration
}

// Check sends one datagram and waits for a reply or an error.
func (c UDP) Check(ctx context.Context) Result {
	start := time.Now()
	ctx, conn, done, err := dial(ctx, "udp", c.Addr, c.Bind, c.Timeout)
	if err != nil {
		return down(start, "dial", err)
	}
	defer done()
	if _, err := conn.Write(c.Payload); err != nil {
		return down(start, "send", ioErr(ctx, err))
	}
	buf := make([]byte, 65536)
	n, err := conn.Read(buf)
	if err != nil {
		var ne net.Error
		if !c.RequireReply && errors.As(err, &ne) && ne.Timeout() && !errors.Is(ctx.Err(), context.Canceled) {
			// Silence is success when no reply is required.
			return up(start)
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return down(start, "port unreachable", err)
		}
		return down(start, "read reply", ioErr(ctx, err))
	}
	max := c.MaxReply
	if max <= 0 {
		max = 65535
	}
	if c.RequireReply && (n < c.MinReply || n > max) {
		return failf(start, "reply of %d bytes, want %d..%d", n, c.MinReply, max)
	}
	return up(start)
}
