package check

import (
	"context"
	"fmt"
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
	// Probe says how the handshake is made: the zero value, ProbeAuto,
	// sends a half-open probe from a raw socket when the process may
	// (CAP_NET_RAW) and the check runs on a Monitor's loop, and connects
	// otherwise; both look the same to the server (SYN, SYN-ACK, RST;
	// nothing is accepted). A Bind with a port (bind_port) always
	// connects, as probes go out from ports of their own; ProbeHalfOpen
	// refuses it.
	Probe TCPProbe
}

// Check connects and closes at once: a half-open check (see probeTCP).
// On a Monitor's loop the check goes out as a half-open probe from a raw
// socket instead when Probe allows it (see ProbeHalfOpen); a Check called
// directly always connects.
//
// It drives a non-blocking socket itself on Go's poller rather than using
// net.Dialer: a check needs no resolver, keepalive options, local address
// lookup or context-watching goroutine, and at ten thousand checks a
// second those dominate the cost. The close resets the connection
// (SO_LINGER 0) so that no TIME_WAIT sockets pile up.
func (c TCP) Check(ctx context.Context) Result {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return down(start, "connect", err)
	}
	deadline := start.Add(timeoutOr(c.Timeout))
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	if err := probeTCP(ctx, c.Addr, c.Bind, deadline); err != nil {
		return down(start, "connect", err)
	}
	return up(start)
}

// errTimeout is returned when a probe's deadline passes.
var errTimeout = fmt.Errorf("timeout: %w", context.DeadlineExceeded)
