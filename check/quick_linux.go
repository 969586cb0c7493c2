package check

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// close releases what q holds.
func (q *quickState) close() {
	for _, fd := range []*int{&q.tcp4, &q.tcp6} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
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
