package check

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// close releases what q holds.
func (q *quickState) close() {
	q.raw.close()
	for _, fd := range []*int{&q.tcp4, &q.tcp6} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
	for _, s := range []*[]int{&q.spare4, &q.spare6} {
		for _, fd := range *s {
			unix.Close(fd)
		}
		*s = nil
	}
}

// take returns the idle socket for addr's family, or a new one.
func (q *quickState) take(addr netip.AddrPort) (int, error) {
	slot, spare := q.slot(addr)
	if fd := *slot; fd >= 0 {
		*slot = -1
		return fd, nil
	}
	if s := *spare; len(s) > 0 {
		fd := s[len(s)-1]
		*spare = s[:len(s)-1]
		return fd, nil
	}
	return tcpSocket(addr)
}

// put keeps fd, whose exchange with addr ended cleanly, for reuse:
// disconnected (connect(AF_UNSPEC) resets the connection, as a close
// with SO_LINGER 0 would, and frees its port). It closes fd if as many
// sockets are kept already as q keeps.
func (q *quickState) put(fd int, addr netip.AddrPort) {
	slot, spare := q.slot(addr)
	switch {
	case *slot < 0 && disconnect(fd) == nil:
		*slot = fd
	case *slot >= 0 && len(*spare) < maxSpare && disconnect(fd) == nil:
		*spare = append(*spare, fd)
	default:
		unix.Close(fd)
	}
}
