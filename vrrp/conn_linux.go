package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"unsafe"

	"github.com/lvskit/lvskit/internal/inns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// inNS runs fn on a thread switched into the namespace at path (the
// current namespace when path is empty). Sockets created by fn stay there.
func inNS(path string, fn func() error) error { return inns.Run(path, fn) }

// rawConn is one raw IP protocol 112 socket bound to one interface and
// family, shared by every instance on that interface. The receiving socket
// stays out of the Go runtime's poller: the Router's reader waits on it
// with an epoll set of its own and reads it in batches (see readLoop), so
// that an advert heard does not cost a runtime wake-up.
type rawConn struct {
	ifi  *net.Interface
	ipv6 bool
	fd   int // -1 for a send-only conn (vmac)

	joined map[netip.Addr]bool // multicast groups joined

	key   connKey
	insts map[uint8]*Instance // by VRID

	ns   string                   // the namespace it lives in
	send map[netip.Addr]*sendSock // by advert source
}

// join joins the multicast group on the interface, once: instances of
// one interface may listen on different groups.
func (c *rawConn) join(group netip.Addr) error {
	if c.joined[group] {
		return nil
	}
	var err error
	if c.ipv6 {
		err = unix.SetsockoptIPv6Mreq(c.fd, unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP,
			&unix.IPv6Mreq{Multiaddr: group.As16(), Interface: uint32(c.ifi.Index)})
	} else {
		err = unix.SetsockoptIPMreqn(c.fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP,
			&unix.IPMreqn{Multiaddr: group.As4(), Ifindex: int32(c.ifi.Index)})
	}
	if err != nil {
		return fmt.Errorf("vrrp: join multicast group %v on %s: %w", group, c.ifi.Name, err)
	}
	if c.joined == nil {
		c.joined = map[netip.Addr]bool{}
	}
	c.joined[group] = true
	return nil
}

// listenRaw opens the receiving socket of one interface and family: raw
// protocol 112, non-blocking, asking for the TTL or hop limit, the packet
// info (destination, interface) and the kernel's receive timestamp of
// every packet.
func listenRaw(ifi *net.Interface, ipv6only bool) (*rawConn, error) {
	family, sol := unix.AF_INET, unix.IPPROTO_IP
	if ipv6only {
		family, sol = unix.AF_INET6, unix.IPPROTO_IPV6
	}
	fd, err := unix.Socket(family, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, Protocol)
	if err != nil {
		return nil, fmt.Errorf("vrrp: raw socket on %s: %w", ifi.Name, err)
	}
	opts := []error{
		unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifi.Name),
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1),
	}
	if ipv6only {
		opts = append(opts,
			unix.SetsockoptInt(fd, sol, unix.IPV6_RECVHOPLIMIT, 1),
			unix.SetsockoptInt(fd, sol, unix.IPV6_RECVPKTINFO, 1),
			unix.SetsockoptInt(fd, sol, unix.IPV6_UNICAST_HOPS, 255),
			unix.SetsockoptInt(fd, sol, unix.IPV6_MULTICAST_HOPS, 255),
			unix.SetsockoptInt(fd, sol, unix.IPV6_MULTICAST_IF, ifi.Index),
			unix.SetsockoptInt(fd, sol, unix.IPV6_MULTICAST_LOOP, 0))
	} else {
		opts = append(opts,
			unix.SetsockoptInt(fd, sol, unix.IP_RECVTTL, 1),
			unix.SetsockoptInt(fd, sol, unix.IP_PKTINFO, 1),
			unix.SetsockoptInt(fd, sol, unix.IP_TTL, 255),
			unix.SetsockoptByte(fd, sol, unix.IP_MULTICAST_TTL, 255),
			unix.SetsockoptIPMreqn(fd, sol, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: int32(ifi.Index)}),
			unix.SetsockoptByte(fd, sol, unix.IP_MULTICAST_LOOP, 0))
	}
	if err := errors.Join(opts...); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("vrrp: socket options on %s: %w", ifi.Name, err)
	}
	return &rawConn{ifi: ifi, ipv6: ipv6only, fd: fd}, nil
}

// rxBatch is a reader's state for one recvmmsg: buffers, addresses and
// control messages for up to rxBatchLen packets, reused for every batch.
type rxBatch struct {
	hdrs [rxBatchLen]mmsghdr
	iovs [rxBatchLen]unix.Iovec
	from [rxBatchLen]unix.RawSockaddrAny
	oob  [rxBatchLen][128]byte
	bufs [rxBatchLen][rxBufLen]byte
	n    int    // packets in the last batch
	pkt  Packet // the advert being decoded
}

const (
	// rxBatchLen is how many packets one recvmmsg reads at most.
	rxBatchLen = 16
	// rxBufLen holds the largest valid advert: IPv4 header with options
	// and 255 IPv4 addresses, or 255 IPv6 addresses. Longer packets come
	// truncated and are dropped for their length.
	rxBufLen = 4224
)

// recv reads the packets waiting on c, up to rxBatchLen, without
// blocking; it reports how many (0 when none is waiting).
func (c *rawConn) recv(b *rxBatch) (int, error) {
	for i := range b.hdrs {
		b.iovs[i] = unix.Iovec{Base: &b.bufs[i][0]}
		b.iovs[i].SetLen(rxBufLen)
		h := &b.hdrs[i]
		*h = mmsghdr{}
		h.hdr.Name, h.hdr.Namelen = (*byte)(unsafe.Pointer(&b.from[i])), unix.SizeofSockaddrAny
		h.hdr.Iov = &b.iovs[i]
		h.hdr.SetIovlen(1)
		h.hdr.Control = &b.oob[i][0]
		h.hdr.SetControllen(len(b.oob[i]))
	}
	b.n = 0
	for {
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(c.fd), uintptr(unsafe.Pointer(&b.hdrs[0])), rxBatchLen, unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			b.n = int(n)
			return b.n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil
		}
		return 0, e
	}
}

// packet returns the i-th packet of the last recv: the VRRP message (the
// IPv4 header that a raw IPv4 socket delivers stripped), what the header,
// socket address and control messages say about it, and the kernel's
// receive time in nanoseconds since the epoch (0 when unknown). A packet
// whose IPv4 header is malformed or that came truncated is reported with
// an error wrapping ErrInvalid.
func (c *rawConn) packet(b *rxBatch, i int) ([]byte, RecvInfo, int64, error) {
	info := RecvInfo{TTL: -1}
	h := &b.hdrs[i]
	n, oob := int(h.len), b.oob[i][:h.hdr.Controllen]
	if h.hdr.Flags&unix.MSG_TRUNC != 0 || n > rxBufLen {
		return nil, info, 0, fmt.Errorf("vrrp: packet longer than %d bytes: %w", rxBufLen, ErrInvalid)
	}
	buf := b.bufs[i][:n]
	ts := parseCmsgs(oob, &info)
	if c.ipv6 {
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&b.from[i]))
		info.Src = netip.AddrFrom16(sa.Addr)
		return buf, info, ts, nil
	}
	if n < 20 {
		return nil, info, ts, fmt.Errorf("vrrp: short IPv4 packet (%d bytes): %w", n, ErrInvalid)
	}
	hl := int(buf[0]&0x0f) << 2
	if hl < 20 || hl > n {
		return nil, info, ts, fmt.Errorf("vrrp: IPv4 header length %d of %d bytes: %w", hl, n, ErrInvalid)
	}
	info.TTL = int(buf[8])
	info.Src = netip.AddrFrom4([4]byte(buf[12:16]))
	info.Dst = netip.AddrFrom4([4]byte(buf[16:20]))
	return buf[hl:], info, ts, nil
}

// parseCmsgs fills info from the control messages the socket asked for:
// IPv4 TTL and packet info, IPv6 hop limit and packet info; it returns the
// kernel's receive timestamp in nanoseconds since the epoch (0 when
// absent). Malformed messages end the walk; the fields they would have
// set stay unknown.
func parseCmsgs(oob []byte, info *RecvInfo) (ts int64) {
	hdrLen := unix.CmsgLen(0)
	for len(oob) >= hdrLen {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdrLen || l > len(oob) {
			return ts
		}
		data := oob[hdrLen:l]
		switch {
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= int(unsafe.Sizeof(unix.Timespec{})):
			t := (*unix.Timespec)(unsafe.Pointer(&data[0]))
			ts = t.Nano()
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_TTL && len(data) >= 4:
			info.TTL = int(*(*int32)(unsafe.Pointer(&data[0])))
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&data[0]))
			info.IfIndex = int(pi.Ifindex)
			info.Dst = netip.AddrFrom4(pi.Addr)
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_HOPLIMIT && len(data) >= 4:
			info.TTL = int(*(*int32)(unsafe.Pointer(&data[0])))
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&data[0]))
			info.IfIndex = int(pi.Ifindex)
			info.Dst = netip.AddrFrom16(pi.Addr)
		}
		space := unix.CmsgSpace(l - hdrLen)
		if space >= len(oob) {
			return ts
		}
		oob = oob[space:]
	}
	return ts
}

// sender holds what one instance needs to queue adverts without
// allocating: its send socket, the control message (source address and
// interface) marshalled once and the destinations' socket addresses.
type sender struct {
	ss  *sendSock
	oob []byte
	dst []senderDst
}

type senderDst struct {
	addr    netip.Addr
	name    *byte // a unix.RawSockaddrInet4 or RawSockaddrInet6
	namelen uint32
}

func (c *rawConn) newSender(src netip.Addr, dsts []netip.Addr) (*sender, error) {
	ss := c.send[src]
	if ss == nil {
		err := inNS(c.ns, func() error {
			var err error
			ss, err = openSendSock(c.ifi, c.ipv6, src)
			return err
		})
		if err != nil {
			return nil, err
		}
		if c.send == nil {
			c.send = map[netip.Addr]*sendSock{}
		}
		c.send[src] = ss
	}
	s := &sender{ss: ss}
	if c.ipv6 {
		s.oob = (&ipv6.ControlMessage{HopLimit: 255, Src: src.AsSlice(), IfIndex: c.ifi.Index}).Marshal()
	} else {
		s.oob = (&ipv4.ControlMessage{Src: src.AsSlice(), IfIndex: c.ifi.Index}).Marshal()
	}
	for _, d := range dsts {
		if d.Is4() {
			sa := &unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: d.As4()}
			s.dst = append(s.dst, senderDst{d, (*byte)(unsafe.Pointer(sa)), unix.SizeofSockaddrInet4})
		} else {
			sa := &unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: d.As16()}
			s.dst = append(s.dst, senderDst{d, (*byte)(unsafe.Pointer(sa)), unix.SizeofSockaddrInet6})
		}
	}
	return s, nil
}

// sendSock is a raw protocol 112 socket that only sends adverts, in
// batches. It stays out of the Go runtime's poller: there, the write-space
// notifications following every burst of adverts would wake the poller
// thread a dozen times per burst for nobody (keepalived polls its sockets
// for input only). It is bound to the advert source, so that the kernel
// hands it no multicast adverts, and filters out whatever else arrives.
type sendSock struct {
	fd int

	// The batch (guarded by the Router's lock).
	arena []byte
	out   []queuedMsg
	hdrs  []mmsghdr
	iovs  []unix.Iovec
}

func openSendSock(ifi *net.Interface, ipv6 bool, src netip.Addr) (*sendSock, error) {
	family, sol := unix.AF_INET, unix.IPPROTO_IP
	if ipv6 {
		family, sol = unix.AF_INET6, unix.IPPROTO_IPV6
	}
	fd, err := unix.Socket(family, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, Protocol)
	if err != nil {
		return nil, fmt.Errorf("vrrp: send socket on %s: %w", ifi.Name, err)
	}
	drop := []unix.SockFilter{{Code: 0x06}} // BPF_RET|BPF_K 0: accept nothing
	opts := []error{
		unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifi.Name),
		unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: 1, Filter: &drop[0]}),
	}
	var sa unix.Sockaddr
	if ipv6 {
		opts = append(opts,
			unix.SetsockoptInt(fd, sol, unix.IPV6_UNICAST_HOPS, 255),
			unix.SetsockoptInt(fd, sol, unix.IPV6_MULTICAST_HOPS, 255),
			unix.SetsockoptInt(fd, sol, unix.IPV6_MULTICAST_IF, ifi.Index),
			unix.SetsockoptInt(fd, sol, unix.IPV6_MULTICAST_LOOP, 0),
			unix.SetsockoptInt(fd, sol, unix.IPV6_FREEBIND, 1))
		sa6 := &unix.SockaddrInet6{Addr: src.As16()}
		if src.IsLinkLocalUnicast() {
			sa6.ZoneId = uint32(ifi.Index)
		}
		sa = sa6
	} else {
		opts = append(opts,
			unix.SetsockoptInt(fd, sol, unix.IP_TTL, 255),
			unix.SetsockoptByte(fd, sol, unix.IP_MULTICAST_TTL, 255),
			unix.SetsockoptIPMreqn(fd, sol, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: int32(ifi.Index)}),
			unix.SetsockoptByte(fd, sol, unix.IP_MULTICAST_LOOP, 0),
			unix.SetsockoptInt(fd, sol, unix.IP_FREEBIND, 1))
		sa = &unix.SockaddrInet4{Addr: src.As4()}
	}
	if err := errors.Join(opts...); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("vrrp: send socket options on %s: %w", ifi.Name, err)
	}
	// Best effort: unbound, the socket still sends, and the filter drops
	// the adverts it is then handed.
	_ = unix.Bind(fd, sa)
	return &sendSock{fd: fd}, nil
}

// queuedMsg is one message waiting in a sendSock's batch.
type queuedMsg struct {
	off, n int // in sendSock.arena
	s      *sender
	dst    int // index in s.dst
	st     *instanceStats
}

// mmsghdr is the kernel's struct mmsghdr (Go pads it to the same size).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// maxBatch bounds one sendmmsg (the kernel's UIO_MAXIOV).
const maxBatch = 1024

// queue copies msg into the socket's batch, to leave with the others in
// the next flush.
func (s *sender) queue(msg []byte, dst int, st *instanceStats) {
	ss := s.ss
	off := len(ss.arena)
	ss.arena = append(ss.arena, msg...)
	ss.out = append(ss.out, queuedMsg{off: off, n: len(msg), s: s, dst: dst, st: st})
}

// flush sends every queued message in as few sendmmsg calls as it takes
// and counts each one sent or refused on its instance.
func (ss *sendSock) flush() {
	waits := 0
	for done := 0; done < len(ss.out); {
		batch := ss.out[done:min(len(ss.out), done+maxBatch)]
		ss.hdrs, ss.iovs = ss.hdrs[:0], ss.iovs[:0]
		for _, m := range batch {
			ss.iovs = append(ss.iovs, unix.Iovec{Base: &ss.arena[m.off]})
			ss.iovs[len(ss.iovs)-1].SetLen(m.n)
		}
		for i, m := range batch {
			d := &m.s.dst[m.dst]
			var h mmsghdr
			h.hdr.Name, h.hdr.Namelen = d.name, d.namelen
			h.hdr.Iov = &ss.iovs[i]
			h.hdr.SetIovlen(1)
			if len(m.s.oob) > 0 {
				h.hdr.Control = &m.s.oob[0]
				h.hdr.SetControllen(len(m.s.oob))
			}
			ss.hdrs = append(ss.hdrs, h)
		}
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(ss.fd), uintptr(unsafe.Pointer(&ss.hdrs[0])), uintptr(len(ss.hdrs)), 0, 0, 0)
		switch n := int(r); {
		case e == unix.EAGAIN || e == unix.EINTR:
			// The send buffer is full: wait for room, a little.
			if waits++; waits > 3 {
				for _, m := range ss.out[done:] {
					m.st.sendErrors.Add(1)
				}
				done = len(ss.out)
				break
			}
			if e == unix.EAGAIN {
				_, _ = unix.Poll([]unix.PollFd{{Fd: int32(ss.fd), Events: unix.POLLOUT}}, 100)
			}
		case e != 0 || n <= 0: // the first message was refused: skip it
			batch[0].st.sendErrors.Add(1)
			done++
		default:
			for _, m := range batch[:n] {
				m.st.sent.Add(1)
			}
			done += n
		}
	}
	clear(ss.out) // drop the pointers to senders and stats
	ss.out, ss.arena = ss.out[:0], ss.arena[:0]
}

func (ss *sendSock) close() { unix.Close(ss.fd) }

func (c *rawConn) close() error {
	for _, ss := range c.send {
		ss.close()
	}
	clear(c.send)
	if c.fd < 0 { // a send-only conn (vmac)
		return nil
	}
	fd := c.fd
	c.fd = -1
	return unix.Close(fd)
}
