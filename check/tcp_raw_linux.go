package check

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// rawPorts is how many local ports each family's half-open probes are
// sent from, in turn: two probes in flight to the same server port are
// told apart by their sequence numbers, and the server's half-open
// connections by their ports.
const rawPorts = 4

// rawRcvBuf is the receive buffer of a probe socket: maxFlights answers
// at about 2 KiB of kernel memory each.
const rawRcvBuf = 2 * maxFlights * 2048

// rawSnap is how much of an answer the probe socket's filter lets
// through: an IPv4 header with options and a TCP header.
const rawSnap = 128

// rawProber sends the half-open probes (ProbeHalfOpen) of a Monitor's
// loop on one raw IPPROTO_TCP socket per family and matches the answers
// to their checks. It belongs to the loop's goroutine.
//
// A probe's initial sequence number is its id plus a secret chosen at
// random: the SYN-ACK or RST that answers it acknowledges that number
// plus one, which names the probe; an answer for no probe in flight (a
// wrong acknowledgement, or one that came after its probe timed out) is
// dropped. The probes go out from local ports that TCP sockets bound to
// the wildcard address hold and never use (see reservePort): no other
// socket can take them, so our kernel answers each SYN-ACK with a RST
// itself, as no socket owns the connection. A classic BPF filter on the
// raw socket lets through only segments to those ports.
type rawProber struct {
	fam     [2]rawFamily // IPv4, IPv6
	secret  uint32
	next    uint32
	pending map[uint32]*rawWait
	// src caches the IPv4 source address the kernel picks for each
	// destination (the TCP checksum covers it), both as big-endian
	// numbers; a probe that times out drops its entry, so a changed
	// route is looked up again.
	src map[uint32]uint32
	// free are finished probes kept for reuse (see release).
	free  []*rawWait
	udp   int // a UDP socket for source look-ups, or 0
	buf   [2048]byte
	batch rawBatchBufs
	oob   [256]byte
	// out are the SYNs queued for the next sendmmsg (see flush), failed
	// the probes whose SYN could not be sent, for the loop to finish.
	out    rawOut
	failed []rawDone
}

// rawOOB is room for the packet-info control message of an IPv6 probe
// sent from a chosen source (IPV6_PKTINFO; IPv4 puts its source in the
// header).
const rawOOB = 64

// rawOut are the SYNs queued for one sendmmsg: the loop queues the SYNs
// of the targets due in one wake-up and sends them in one system call
// (flush), instead of one sendto each.
type rawOut struct {
	n     int
	fd    int
	waits [rawBatch]*rawWait
	ids   [rawBatch]uint32
	pkts  [rawBatch][ipv4HeaderLen + tcpHeaderLen]byte
	segs  [rawBatch][]byte
	names [rawBatch]unix.RawSockaddrAny
	nlens [rawBatch]uint32
	oobs  [rawBatch][rawOOB]byte
	olens [rawBatch]int
	msgs  [rawBatch]mmsghdr
	iovs  [rawBatch]unix.Iovec
	// sent maps msgs back to their slots: probes that ended before the
	// flush are left out.
	sent [rawBatch]int
}

// rawFamily is one family's raw sockets and reserved ports.
//
// Every TCP segment the host receives is copied to each raw TCP socket
// that matches it, and the copy is filtered and freed there, unless the
// socket is bound to another local address. An IPv4 probe knows its
// source (it writes the IP header), so it goes out on a socket bound to
// that source: the answers come in on it, and the host's other TCP
// traffic (on loopback, our own SYN and RST too) is never copied to it.
// That saved a tenth of a loopback probe's CPU. fd is the first socket,
// opened unbound (IPv6 probes, whose source the kernel picks, stay on
// it); an IPv4 probe binds it to its source if no other probe did, and
// opens another for each new source, up to maxBound.
type rawFamily struct {
	opened  bool
	err     error // why there is no raw socket
	fd      int
	reserve []int
	ports   [rawPorts]uint16
	// bound maps an IPv4 source (big-endian) to its socket; fd is among
	// them once bound.
	bound map[uint32]int
	// wild is whether fd is still unbound.
	wild bool
}

// maxBound bounds the IPv4 sources with a socket of their own; probes
// from further sources share the last one opened unbound.
const maxBound = 16

// rawBatch is how many answers one recvmmsg reads.
const rawBatch = 32

// mmsghdr is struct mmsghdr of recvmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// rawBatchBufs are recvmmsg's buffers.
type rawBatchBufs struct {
	msgs  [rawBatch]mmsghdr
	iovs  [rawBatch]unix.Iovec
	names [rawBatch]unix.RawSockaddrInet6
	bufs  [rawBatch][rawSnap]byte
}

// rawDone is a probe's result, found by drain.
type rawDone struct {
	key int32
	r   Result
}

// rawWait is a half-open probe in flight: a pollOp on the shared raw
// socket, keyed by its id.
type rawWait struct {
	p     *rawProber
	id    uint32
	fd    int
	sport uint16
	dst   netip.AddrPort
	bind  netip.Addr
	// src is an IPv4 probe's source address, which its header carries.
	src   netip.Addr
	start time.Time
	dl    time.Time
	// resend is when the SYN goes out again unless answered, rto the
	// wait after that.
	resend time.Time
	rto    time.Duration
}

// rawRTO is the wait before a probe's SYN is sent again, doubled at each
// resend: the kernel's initial retransmission timeout for a connect's
// SYN (RFC 6298, 1 s), so that a lost SYN costs a probe no more than it
// costs a connect.
const rawRTO = time.Second

func (w *rawWait) pollFD() (int, uint32) { return w.fd, unix.EPOLLIN }

func (w *rawWait) deadline() time.Time {
	if w.resend.Before(w.dl) {
		return w.resend
	}
	return w.dl
}

// retry sends the SYN again when its resend time, not its deadline, came.
func (w *rawWait) retry(now time.Time) bool {
	if !now.Before(w.dl) || w.p.pending[w.id] != w {
		return false
	}
	w.p.queue(w) // sent by the loop's next flush; a failure ends the probe
	w.rto *= 2
	w.resend = now.Add(w.rto)
	return true
}

// probeKey keys the probe among the loop's flights: negative, so no
// socket's descriptor has it.
func (w *rawWait) probeKey() int32 { return rawKey(w.id) }

func rawKey(id uint32) int32 { return -int32(id&0x7fffffff) - 1 }

// ready is never called: drain finishes probes.
func (w *rawWait) ready(*quickState) (Result, bool) { return Result{}, false }

func (w *rawWait) expire(_ *quickState, err error) Result {
	if w.p.pending[w.id] == w {
		delete(w.p.pending, w.id)
	}
	if w.dst.Addr().Is4() {
		delete(w.p.src, addr4(w.dst.Addr()))
	}
	return down(w.start, "connect", err)
}

// Check is never called: the probe only waits on the loop.
func (w *rawWait) Check(context.Context) Result {
	return w.expire(nil, errors.New("half-open probe outside the loop"))
}

// rawFamilyOf returns the index of addr's family in fam.
func rawFamilyOf(a netip.Addr) int {
	if a.Is4() || a.Is4In6() {
		return 0
	}
	return 1
}

// open opens family i's raw socket and reserves its ports, once; it
// returns why that failed (without CAP_NET_RAW: EPERM).
func (p *rawProber) open(i int) error {
	f := &p.fam[i]
	if f.opened {
		return f.err
	}
	f.opened = true
	if p.pending == nil {
		p.pending = make(map[uint32]*rawWait)
		p.src = make(map[uint32]uint32)
		p.secret = rand.Uint32()
		p.next = rand.Uint32()
	}
	f.fd, f.err = openRaw(i == 0, f)
	if f.err != nil {
		f.err = fmt.Errorf("half-open probe: %w", f.err)
	}
	f.wild = true
	return f.err
}

// sockFor returns the IPv4 socket bound to src, binding the unbound
// first socket or opening another; past maxBound sources, or when a
// socket cannot be had, the unbound one (opened again if it was bound).
func (f *rawFamily) sockFor(src netip.Addr) int {
	k := addr4(src)
	if fd, ok := f.bound[k]; ok {
		return fd
	}
	if f.bound == nil {
		f.bound = make(map[uint32]int)
	}
	if f.wild && len(f.bound) == 0 {
		// Unbound still when the bind fails: it then takes every answer.
		if unix.Bind(f.fd, &unix.SockaddrInet4{Addr: src.As4()}) == nil {
			f.wild = false
		}
		f.bound[k] = f.fd
		return f.fd
	}
	if len(f.bound) < maxBound {
		if fd, err := rawSocket(true, f.ports[:]); err == nil {
			if unix.Bind(fd, &unix.SockaddrInet4{Addr: src.As4()}) == nil {
				f.bound[k] = fd
				return fd
			}
			unix.Close(fd)
		}
	}
	if !f.wild {
		// One unbound socket for the rest; it sees the bound ones'
		// answers too, which drain drops as answered already.
		if fd, err := rawSocket(true, f.ports[:]); err == nil {
			f.fd, f.wild = fd, true
		}
	}
	f.bound[k] = f.fd
	return f.fd
}

// owns reports whether fd is one of f's sockets.
func (f *rawFamily) owns(fd int) bool {
	if !f.opened || f.err != nil {
		return false
	}
	if f.fd == fd {
		return true
	}
	for _, b := range f.bound {
		if b == fd {
			return true
		}
	}
	return false
}

// openRaw opens the raw socket of a family, reserves its ports and
// attaches the filter that lets only answers to those ports through.
func openRaw(v4 bool, f *rawFamily) (fd int, err error) {
	family := unix.AF_INET6
	if v4 {
		family = unix.AF_INET
	}
	fd, err = unix.Socket(family, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
			for _, r := range f.reserve {
				unix.Close(r)
			}
			f.reserve = nil
		}
	}()
	for i := range f.ports {
		r, port, err := reservePort(family)
		if err != nil {
			return -1, err
		}
		f.reserve = append(f.reserve, r)
		f.ports[i] = port
	}
	if err := setupRaw(fd, v4, f.ports[:]); err != nil {
		return -1, err
	}
	return fd, nil
}

// rawSocket opens one more raw socket of a family whose ports are
// reserved already.
func rawSocket(v4 bool, ports []uint16) (int, error) {
	family := unix.AF_INET6
	if v4 {
		family = unix.AF_INET
	}
	fd, err := unix.Socket(family, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if err := setupRaw(fd, v4, ports); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// setupRaw attaches the filter that lets only answers to ports through
// and sets a raw socket's options.
func setupRaw(fd int, v4 bool, ports []uint16) (err error) {
	prog, err := rawFilter(v4, ports)
	if err != nil {
		return err
	}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, prog); err != nil {
		return os.NewSyscallError("setsockopt SO_ATTACH_FILTER", err)
	}
	// ICMP errors for our SYNs come to the socket's error queue.
	if v4 {
		err = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_RECVERR, 1)
		if err == nil {
			// We write the IP header: the kernel then sends the packet
			// as it is (filling in its length, identification and
			// checksum) instead of assembling it.
			err = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_HDRINCL, 1)
		}
	} else {
		err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1)
		if err == nil {
			// The kernel fills in the checksum at offset 16, with the
			// source address it picks.
			err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_CHECKSUM, 16)
		}
	}
	if err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	// Room for every answer to the probes in flight (maxFlights) while
	// the loop is held up: an answer dropped here would turn into a
	// timeout. SO_RCVBUFFORCE passes net.core.rmem_max (CAP_NET_ADMIN).
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rawRcvBuf) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rawRcvBuf)
	}
	// Drain what came in before the filter was attached.
	var b [64]byte
	for range 1024 {
		if _, _, err := unix.Recvfrom(fd, b[:], unix.MSG_DONTWAIT); err != nil {
			break
		}
	}
	return nil
}

// reservePort binds a TCP socket of family to the wildcard address and a
// port the kernel picks, and returns it with the port. The socket never
// listens or connects: it only keeps other sockets off the port.
func reservePort(family int) (int, uint16, error) {
	s, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, 0, os.NewSyscallError("socket", err)
	}
	var sa unix.Sockaddr = &unix.SockaddrInet4{}
	if family == unix.AF_INET6 {
		unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
		sa = &unix.SockaddrInet6{}
	}
	if err := unix.Bind(s, sa); err != nil {
		unix.Close(s)
		return -1, 0, os.NewSyscallError("bind", err)
	}
	got, err := unix.Getsockname(s)
	if err != nil {
		unix.Close(s)
		return -1, 0, os.NewSyscallError("getsockname", err)
	}
	switch a := got.(type) {
	case *unix.SockaddrInet4:
		return s, uint16(a.Port), nil
	case *unix.SockaddrInet6:
		return s, uint16(a.Port), nil
	}
	unix.Close(s)
	return -1, 0, errors.New("getsockname: no port")
}

// rawFilter builds the classic BPF program that accepts TCP segments to
// one of ports (IPv4 raw sockets see the IP header first, IPv6 ones the
// TCP header), truncated to rawSnap bytes.
func rawFilter(v4 bool, ports []uint16) (*unix.SockFprog, error) {
	var prog []bpf.Instruction
	if v4 {
		prog = append(prog, bpf.LoadMemShift{Off: 0}, bpf.LoadIndirect{Off: 2, Size: 2})
	} else {
		prog = append(prog, bpf.LoadAbsolute{Off: 2, Size: 2})
	}
	for i, port := range ports {
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(port), SkipTrue: uint8(len(ports) - i)})
	}
	prog = append(prog, bpf.RetConstant{Val: 0}, bpf.RetConstant{Val: rawSnap})
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("filter: %w", err)
	}
	f := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		f[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return &unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}, nil
}

// close releases the sockets.
func (p *rawProber) close() {
	for i := range p.fam {
		f := &p.fam[i]
		if f.opened && f.err == nil {
			fds := []int{f.fd}
			for _, fd := range f.bound {
				if !slices.Contains(fds, fd) {
					fds = append(fds, fd)
				}
			}
			for _, fd := range fds {
				unix.Close(fd)
			}
			for _, r := range f.reserve {
				unix.Close(r)
			}
		}
		*f = rawFamily{}
	}
	if p.udp > 0 {
		unix.Close(p.udp)
		p.udp = 0
	}
	clear(p.pending)
}

// source returns the IPv4 address the kernel sends to dst from.
func (p *rawProber) source(dst netip.Addr) (netip.Addr, error) {
	if s, ok := p.src[addr4(dst)]; ok {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], s)
		return netip.AddrFrom4(b), nil
	}
	if p.udp <= 0 {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return netip.Addr{}, os.NewSyscallError("socket", err)
		}
		p.udp = fd
	}
	// Connecting fixes the socket's source address: dissolve the last
	// connection first, or its source would stay.
	disconnect(p.udp)
	if err := unix.Connect(p.udp, &unix.SockaddrInet4{Port: 9, Addr: dst.As4()}); err != nil {
		return netip.Addr{}, os.NewSyscallError("connect", err)
	}
	sa, err := unix.Getsockname(p.udp)
	if err != nil {
		return netip.Addr{}, os.NewSyscallError("getsockname", err)
	}
	a, ok := sa.(*unix.SockaddrInet4)
	if !ok {
		return netip.Addr{}, errors.New("getsockname: not IPv4")
	}
	s := netip.AddrFrom4(a.Addr)
	if len(p.src) >= maxRequests {
		clear(p.src)
	}
	p.src[addr4(dst)] = addr4(s)
	return s, nil
}

// addr4 returns an IPv4 address as a big-endian number.
func addr4(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// finished is told of every check that left the loop's flights: a
// probe among them is kept for reuse.
func (p *rawProber) finished(op pollOp) {
	if w, ok := op.(*rawWait); ok {
		p.release(w)
	}
}

// release keeps w, whose check has finished (it is no longer pending),
// for the next probe.
func (p *rawProber) release(w *rawWait) {
	if len(p.free) < maxFlights && p.pending[w.id] != w {
		*w = rawWait{}
		p.free = append(p.free, w)
	}
}

// start sends a probe for c. It returns the probe in flight, or the
// check's result when it ended at once (done), or an error when no probe
// could be sent for a reason of ours rather than the target's (no raw
// socket: the caller may connect instead).
func (p *rawProber) start(c TCP) (w *rawWait, r Result, done bool, err error) {
	dst := c.Addr
	dst = netip.AddrPortFrom(dst.Addr().Unmap().WithZone(dst.Addr().Zone()), dst.Port())
	if dst.Addr().Is4() {
		dst = netip.AddrPortFrom(dst.Addr().WithZone(""), dst.Port())
	}
	i := rawFamilyOf(dst.Addr())
	if err := p.open(i); err != nil {
		return nil, Result{}, false, err
	}
	f := &p.fam[i]
	now := time.Now()
	id := p.next
	p.next++
	sport := f.ports[id%rawPorts]
	if n := len(p.free); n > 0 {
		w, p.free = p.free[n-1], p.free[:n-1]
	} else {
		w = new(rawWait)
	}
	*w = rawWait{p: p, id: id, fd: f.fd, sport: sport, dst: dst, bind: c.Bind.Addr(), start: now,
		dl: now.Add(timeoutOr(c.Timeout)), resend: now.Add(rawRTO), rto: rawRTO}
	if i == 0 {
		w.src = w.bind.Unmap()
		if !w.src.IsValid() {
			var err error
			if w.src, err = p.source(dst.Addr()); err != nil {
				p.release(w)
				return nil, down(now, "connect", err), true, nil
			}
		}
		w.fd = f.sockFor(w.src)
	}
	p.pending[id] = w
	p.queue(w)
	return w, Result{}, false, nil
}

// queue adds w's SYN to the next sendmmsg, flushing the queue first when
// it is full or holds SYNs for another socket.
func (p *rawProber) queue(w *rawWait) {
	o := &p.out
	if o.n == rawBatch || (o.n > 0 && o.fd != w.fd) {
		p.flush()
	}
	k := o.n
	o.n++
	o.fd = w.fd
	o.waits[k], o.ids[k] = w, w.id
	pkt := &o.pkts[k]
	seg, bind := pkt[:], w.bind
	if w.src.IsValid() {
		// IPv4 (IP_HDRINCL): the source goes in our header.
		buildIPv4(pkt[:ipv4HeaderLen], w.src, w.dst.Addr(), tcpHeaderLen)
		bind = netip.Addr{}
	} else {
		seg = pkt[ipv4HeaderLen:]
	}
	buildSYN(pkt[ipv4HeaderLen:], w.src, w.sport, w.dst, w.id+p.secret)
	o.segs[k] = seg
	// Port 0: the segment carries the port.
	o.nlens[k] = uint32(rawSockaddr(&o.names[k], netip.AddrPortFrom(w.dst.Addr(), 0)))
	o.olens[k] = 0
	if bind.IsValid() {
		o.olens[k] = pktinfo(o.oobs[k][:], bind)
	}
}

// flush sends the queued SYNs, in one sendmmsg when all goes well. A SYN
// that the kernel refuses ends its probe (down, with the error, collected
// by the loop from failed), except when the socket's buffer is full
// (EAGAIN, ENOBUFS): that is a lost SYN, sent again after rawRTO.
func (p *rawProber) flush() {
	o := &p.out
	n := 0
	for k := range o.n {
		w := o.waits[k]
		if w.id != o.ids[k] || p.pending[w.id] != w {
			continue // ended before it went out
		}
		seg := o.segs[k]
		o.iovs[n] = unix.Iovec{Base: &seg[0]}
		o.iovs[n].SetLen(len(seg))
		o.msgs[n] = mmsghdr{hdr: unix.Msghdr{Name: (*byte)(unsafe.Pointer(&o.names[k])), Namelen: o.nlens[k], Iov: &o.iovs[n], Iovlen: 1}}
		if l := o.olens[k]; l > 0 {
			o.msgs[n].hdr.Control = &o.oobs[k][0]
			o.msgs[n].hdr.SetControllen(l)
		}
		o.sent[n] = k
		n++
	}
	// sendmmsg stops at the first message it cannot send and reports
	// the ones before it; the call that starts at that message reports
	// its error. Each round sends one message at least or ends one.
	for i, tries := 0, 0; i < n && tries < 2*rawBatch; tries++ {
		m, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(o.fd), uintptr(unsafe.Pointer(&o.msgs[i])), uintptr(n-i), 0, 0, 0)
		switch {
		case e == unix.EINTR:
		case e != 0:
			p.sendFailed(o.waits[o.sent[i]], e)
			i++
		default:
			i += int(m)
		}
	}
	clear(o.waits[:o.n])
	clear(o.segs[:o.n])
	o.n = 0
}

// sendFailed ends probe w, whose SYN the kernel refused with e.
func (p *rawProber) sendFailed(w *rawWait, e unix.Errno) {
	if e == unix.EAGAIN || e == unix.ENOBUFS {
		return // as a lost SYN: resent after rawRTO, or timed out
	}
	delete(p.pending, w.id)
	p.failed = append(p.failed, rawDone{key: rawKey(w.id), r: down(w.start, "connect", os.NewSyscallError("connect", e))})
}

// pktinfo writes the packet-info control message that sends from bind
// into oob and returns its length.
func pktinfo(oob []byte, bind netip.Addr) int {
	if bind.Is4() || bind.Is4In6() {
		n := unix.CmsgSpace(unix.SizeofInet4Pktinfo)
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		h.Level, h.Type = unix.IPPROTO_IP, unix.IP_PKTINFO
		h.SetLen(unix.CmsgLen(unix.SizeofInet4Pktinfo))
		pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&oob[unix.CmsgLen(0)]))
		*pi = unix.Inet4Pktinfo{Spec_dst: bind.Unmap().As4()}
		return n
	}
	n := unix.CmsgSpace(unix.SizeofInet6Pktinfo)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level, h.Type = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
	h.SetLen(unix.CmsgLen(unix.SizeofInet6Pktinfo))
	pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&oob[unix.CmsgLen(0)]))
	*pi = unix.Inet6Pktinfo{Addr: bind.As16()}
	if z := bind.Zone(); z != "" {
		pi.Ifindex = zoneID(z)
	}
	return n
}

// maxDrain bounds the answers read per wake-up; the rest wait for the
// next one (the socket stays readable).
const maxDrain = 1024

// drain reads the answers waiting on raw socket fd, and its error queue
// when events has EPOLLERR, appending the result of each probe they
// answer to out. Anything else is dropped.
func (p *rawProber) drain(fd int, events uint32, out []rawDone) []rawDone {
	i := 0
	switch {
	case p.fam[0].owns(fd):
	case p.fam[1].owns(fd):
		i = 1
	default:
		return out
	}
	b := &p.batch
	for range maxDrain / rawBatch {
		for k := range b.msgs {
			b.iovs[k] = unix.Iovec{Base: &b.bufs[k][0]}
			b.iovs[k].SetLen(rawSnap)
			b.msgs[k] = mmsghdr{hdr: unix.Msghdr{Name: (*byte)(unsafe.Pointer(&b.names[k])), Namelen: unix.SizeofSockaddrInet6, Iov: &b.iovs[k], Iovlen: 1}}
		}
		n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.msgs[0])), rawBatch, unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			break
		}
		for k := range int(n) {
			r, ok := parseRawReply(b.bufs[k][:min(b.msgs[k].len, rawSnap)], i == 0)
			if !ok {
				continue
			}
			if i == 1 {
				r.src = netip.AddrFrom16(b.names[k].Addr)
			}
			out = p.answer(r, out)
		}
		if n < rawBatch {
			break
		}
	}
	if events&unix.EPOLLERR != 0 {
		out = p.drainErrors(fd, i == 0, out)
	}
	return out
}

// answer matches a segment to its probe.
func (p *rawProber) answer(r rawReply, out []rawDone) []rawDone {
	id := r.ack - 1 - p.secret
	w := p.pending[id]
	if w == nil || w.sport != r.dport || w.dst.Port() != r.sport || w.dst.Addr().WithZone("") != r.src {
		return out // no probe of ours in flight: stale, or not an answer
	}
	var res Result
	switch {
	case r.synAck():
		res = up(w.start)
	case r.reset():
		res = down(w.start, "connect", os.NewSyscallError("connect", unix.ECONNREFUSED))
	default:
		return out
	}
	delete(p.pending, id)
	return append(out, rawDone{key: rawKey(id), r: res})
}

// drainErrors reads the ICMP errors queued for our SYNs: each names the
// probe it is for by the SYN's sequence number, which the error quotes.
func (p *rawProber) drainErrors(fd int, v4 bool, out []rawDone) []rawDone {
	for range maxDrain {
		n, oobn, _, from, err := unix.Recvmsg(fd, p.buf[:], p.oob[:], unix.MSG_ERRQUEUE)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			break
		}
		seg := p.buf[:n]
		if v4 {
			// IP_HDRINCL: the error quotes our IP header too.
			if len(seg) < ipv4HeaderLen || int(seg[0]&0x0f)*4 > len(seg) {
				continue
			}
			seg = seg[int(seg[0]&0x0f)*4:]
		}
		if len(seg) < 8 || (len(seg) >= 14 && seg[13] != tcpSYN) {
			continue // not one of our SYNs
		}
		var dst netip.Addr
		switch a := from.(type) {
		case *unix.SockaddrInet4:
			dst = netip.AddrFrom4(a.Addr)
		case *unix.SockaddrInet6:
			dst = netip.AddrFrom16(a.Addr).Unmap()
		}
		id := binary.BigEndian.Uint32(seg[4:8]) - p.secret
		w := p.pending[id]
		if w == nil || w.sport != binary.BigEndian.Uint16(seg[0:2]) || w.dst.Port() != binary.BigEndian.Uint16(seg[2:4]) ||
			(dst.IsValid() && w.dst.Addr().WithZone("") != dst) {
			continue
		}
		errno := extendedErrno(p.oob[:oobn])
		if errno == 0 {
			continue
		}
		delete(p.pending, id)
		out = append(out, rawDone{key: rawKey(id), r: down(w.start, "connect", os.NewSyscallError("connect", errno))})
	}
	return out
}

// extendedErrno returns the error number of the sock_extended_err in an
// error queue message's control data, or 0.
func extendedErrno(oob []byte) unix.Errno {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if (m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_RECVERR) ||
			(m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_RECVERR) {
			if len(m.Data) >= 4 {
				return unix.Errno(binary.NativeEndian.Uint32(m.Data[:4]))
			}
		}
	}
	return 0
}
