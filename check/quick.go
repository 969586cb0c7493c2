package check

import (
	"net/netip"
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
	// spare4 and spare6 keep more idle sockets, up to maxSpare each, for
	// when several checks were in flight at once (HTTP checks, slow
	// handshakes): each saves a socket and a close.
	spare4, spare6 []int
	// reqs caches HTTP checks' requests (see request).
	reqs map[*HTTP]*httpRequest
	// httpFree are HTTP flights, and httpBufs their read buffers, kept
	// for reuse (see httpFlight.recycle and release).
	httpFree []*httpFlight
	httpBufs [][]byte
	// raw sends half-open TCP probes (ProbeHalfOpen).
	raw rawProber
	// poll reports that the caller can wait on a rest that is a pollOp
	// (checks that can only continue that way decline otherwise).
	poll bool
}

func newQuickState() *quickState { return &quickState{tcp4: -1, tcp6: -1} }

// maxSpare bounds the spare idle sockets kept per family.
const maxSpare = 16

// holds reports whether fd is one of q's idle sockets: the slots, or the
// last one put on a spare stack (the one put most recently).
func (q *quickState) holds(fd int) bool {
	if fd < 0 {
		return false
	}
	if fd == q.tcp4 || fd == q.tcp6 {
		return true
	}
	for _, s := range [][]int{q.spare4, q.spare6} {
		if len(s) > 0 && s[len(s)-1] == fd {
			return true
		}
	}
	return false
}

func (q *quickState) slot(addr netip.AddrPort) (*int, *[]int) {
	if a := addr.Addr(); a.Is4() || a.Is4In6() {
		return &q.tcp4, &q.spare4
	}
	return &q.tcp6, &q.spare6
}

// httpRequest is a request built for an HTTP check, with what it was
// built from.
type httpRequest struct {
	addr       netip.AddrPort
	host, path string
	b          []byte
}

// maxRequests bounds the loop's cache of built requests; past it the
// cache starts afresh (checkers removed from the Monitor leave it so).
const maxRequests = 1 << 16

// request returns c's request bytes, built once per checker and kept
// while the fields they come from stay the same.
func (q *quickState) request(c *HTTP) []byte {
	if r := q.reqs[c]; r != nil && r.addr == c.Addr && r.host == c.Host && r.path == c.Path {
		return r.b
	}
	if q.reqs == nil || len(q.reqs) >= maxRequests {
		q.reqs = make(map[*HTTP]*httpRequest)
	}
	r := &httpRequest{addr: c.Addr, host: c.Host, path: c.Path, b: []byte(c.request())}
	q.reqs[c] = r
	return r.b
}
