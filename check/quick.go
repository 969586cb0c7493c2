package check

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// quickChecker is implemented by checkers that can start a check without
// blocking. The Monitor runs them on its scheduling goroutine, in the
// batch of targets due together, so that a check whose outcome is known at
// once (a loopback handshake, a refused port) costs no hand-off to a
// worker, no goroutine wake-up and no context.
type quickChecker interface {
	// quickCheck starts a check using the scheduler's scratch state q.
	// done reports that r is the check's result (its Latency is set by
	// the caller). Otherwise rest, when not nil, finishes the check that
	// quickCheck began and must be run (a worker runs it with the target's
	// context; it releases what quickCheck handed over even when that
	// context is already done); a nil rest means that nothing was started
	// and the checker's own Check is to run.
	quickCheck(q *quickState) (r Result, rest Checker, done bool)
}

// quickState is scratch state owned by the Monitor's scheduling goroutine
// and kept between checks.
type quickState struct {
	// tcp4 and tcp6 are idle sockets (see tcpSocket) for TCP and HTTP
	// checks, or -1.
	tcp4, tcp6 int
	// poll reports that the caller can wait on a rest that is a pollOp
	// (checks that can only continue that way decline otherwise).
	poll bool
}

func newQuickState() *quickState { return &quickState{tcp4: -1, tcp6: -1} }

// close releases what q holds.
func (q *quickState) close() {
	for _, fd := range []*int{&q.tcp4, &q.tcp6} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
}

// holds reports whether fd is one of q's idle sockets.
func (q *quickState) holds(fd int) bool {
	return fd >= 0 && (fd == q.tcp4 || fd == q.tcp6)
}

func (q *quickState) slot(addr netip.AddrPort) *int {
	if a := addr.Addr(); a.Is4() || a.Is4In6() {
		return &q.tcp4
	}
	return &q.tcp6
}

// take returns the idle socket for addr's family, or a new one.
func (q *quickState) take(addr netip.AddrPort) (int, error) {
	slot := q.slot(addr)
	if fd := *slot; fd >= 0 {
		*slot = -1
		return fd, nil
	}
	return tcpSocket(addr)
}

// put keeps fd, whose exchange with addr ended cleanly, for reuse:
// disconnected (connect(AF_UNSPEC) resets the connection, as a close
// with SO_LINGER 0 would, and frees its port). It closes fd if a socket is
// kept already.
func (q *quickState) put(fd int, addr netip.AddrPort) {
	if slot := q.slot(addr); *slot < 0 && disconnect(fd) == nil {
		*slot = fd
		return
	}
	unix.Close(fd)
}
