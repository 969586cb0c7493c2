package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"unsafe"

	"github.com/vishvananda/netns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// inNS runs fn on a thread switched into the namespace at path (the
// current namespace when path is empty). Sockets created by fn stay there.
func inNS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("vrrp: netns %s: %w", path, err)
	}
	defer ns.Close()
	var ferr error
	done := make(chan struct{})
	go func() { // a fresh thread, discarded if switching back fails
		defer close(done)
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			ferr = err
			return
		}
		defer orig.Close()
		if ferr = netns.Set(ns); ferr != nil {
			return
		}
		ferr = fn()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
	}()
	<-done
	return ferr
}

// rawConn is one raw IP protocol 112 socket bound to one interface and
// family, shared by every instance on that interface.
type rawConn struct {
	ifi  *net.Interface
	ipv6 bool
	p4   *ipv4.PacketConn
	p6   *ipv6.PacketConn
	pc   net.PacketConn

	joined bool

	// The batch of adverts to send (guarded by the Router's lock).
	rc    syscall.RawConn
	wfn   func(fd uintptr) bool
	arena []byte
	out   []queuedMsg
	hdrs  []mmsghdr
	iovs  []unix.Iovec
	sent  int
	errno syscall.Errno
}

// join joins the VRRP multicast group on the interface.
func (c *rawConn) join() error {
	var err error
	if c.ipv6 {
		err = c.p6.JoinGroup(c.ifi, &net.IPAddr{IP: MulticastIPv6.AsSlice()})
	} else {
		err = c.p4.JoinGroup(c.ifi, &net.IPAddr{IP: MulticastIPv4.AsSlice()})
	}
	if err != nil {
		return fmt.Errorf("vrrp: join VRRP group on %s: %w", c.ifi.Name, err)
	}
	c.joined = true
	return nil
}

func listenRaw(ifi *net.Interface, ipv6only bool) (*rawConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifi.Name)
		})
		return errors.Join(err, serr)
	}}
	network, laddr := "ip4:112", "0.0.0.0"
	if ipv6only {
		network, laddr = "ip6:112", "::"
	}
	pc, err := lc.ListenPacket(context.Background(), network, laddr)
	if err != nil {
		return nil, fmt.Errorf("vrrp: raw socket on %s: %w", ifi.Name, err)
	}
	c := &rawConn{ifi: ifi, ipv6: ipv6only, pc: pc}
	if ipv6only {
		c.p6 = ipv6.NewPacketConn(pc)
		err = errors.Join(
			c.p6.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true),
			c.p6.SetHopLimit(255),
			c.p6.SetMulticastHopLimit(255),
			c.p6.SetMulticastInterface(ifi),
			c.p6.SetMulticastLoopback(false),
		)
	} else {
		c.p4 = ipv4.NewPacketConn(pc)
		err = errors.Join(
			c.p4.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true),
			c.p4.SetTTL(255),
			c.p4.SetMulticastTTL(255),
			c.p4.SetMulticastInterface(ifi),
			c.p4.SetMulticastLoopback(false),
		)
	}
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("vrrp: socket options on %s: %w", ifi.Name, err)
	}
	return c, nil
}

// read reads one VRRP message into b.
func (c *rawConn) read(b []byte) (int, RecvInfo, error) {
	info := RecvInfo{TTL: -1}
	if c.ipv6 {
		n, cm, src, err := c.p6.ReadFrom(b)
		if err != nil {
			return 0, info, err
		}
		if ia, ok := src.(*net.IPAddr); ok {
			info.Src, _ = netip.AddrFromSlice(ia.IP)
		}
		if cm != nil {
			info.TTL, info.IfIndex = cm.HopLimit, cm.IfIndex
			info.Dst, _ = netip.AddrFromSlice(cm.Dst)
		}
		return n, info, nil
	}
	n, cm, src, err := c.p4.ReadFrom(b)
	if err != nil {
		return 0, info, err
	}
	if ia, ok := src.(*net.IPAddr); ok {
		info.Src, _ = netip.AddrFromSlice(ia.IP)
		info.Src = info.Src.Unmap()
	}
	if cm != nil {
		info.TTL, info.IfIndex = cm.TTL, cm.IfIndex
		info.Dst, _ = netip.AddrFromSlice(cm.Dst)
		info.Dst = info.Dst.Unmap()
	}
	return n, info, nil
}

// sender holds what one instance needs to queue adverts on its socket
// without allocating: the control message (source address and interface)
// marshalled once and the destinations' socket addresses.
type sender struct {
	c   *rawConn
	oob []byte
	dst []senderDst
}

type senderDst struct {
	addr    netip.Addr
	name    *byte // a unix.RawSockaddrInet4 or RawSockaddrInet6
	namelen uint32
}

func (c *rawConn) newSender(src netip.Addr, dsts []netip.Addr) (*sender, error) {
	if c.rc == nil {
		sc, ok := c.pc.(syscall.Conn)
		if !ok {
			return nil, fmt.Errorf("vrrp: raw socket without a file descriptor: %w", ErrInvalid)
		}
		var err error
		if c.rc, err = sc.SyscallConn(); err != nil {
			return nil, err
		}
		c.wfn = c.sendBatch
	}
	s := &sender{c: c}
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

// queuedMsg is one message waiting in a rawConn's batch.
type queuedMsg struct {
	off, n int // in rawConn.arena
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
	c := s.c
	off := len(c.arena)
	c.arena = append(c.arena, msg...)
	c.out = append(c.out, queuedMsg{off: off, n: len(msg), s: s, dst: dst, st: st})
}

// pending reports whether the socket has messages queued.
func (c *rawConn) pending() bool { return len(c.out) > 0 }

// flush sends every queued message, as few sendmmsg calls as it takes,
// and counts each one sent or refused on its instance.
func (c *rawConn) flush() {
	for done := 0; done < len(c.out); {
		batch := c.out[done:min(len(c.out), done+maxBatch)]
		c.hdrs, c.iovs = c.hdrs[:0], c.iovs[:0]
		for _, m := range batch {
			c.iovs = append(c.iovs, unix.Iovec{Base: &c.arena[m.off]})
			c.iovs[len(c.iovs)-1].SetLen(m.n)
		}
		for i, m := range batch {
			d := &m.s.dst[m.dst]
			var h mmsghdr
			h.hdr.Name, h.hdr.Namelen = d.name, d.namelen
			h.hdr.Iov = &c.iovs[i]
			h.hdr.SetIovlen(1)
			if len(m.s.oob) > 0 {
				h.hdr.Control = &m.s.oob[0]
				h.hdr.SetControllen(len(m.s.oob))
			}
			c.hdrs = append(c.hdrs, h)
		}
		c.sent, c.errno = 0, 0
		if err := c.rc.Write(c.wfn); err != nil { // the socket is closed
			for _, m := range c.out[done:] {
				m.st.sendErrors.Add(1)
			}
			break
		}
		if c.sent <= 0 { // the first message was refused: skip it
			batch[0].st.sendErrors.Add(1)
			done++
			continue
		}
		for _, m := range batch[:c.sent] {
			m.st.sent.Add(1)
		}
		done += c.sent
	}
	clear(c.out) // drop the pointers to senders and stats
	c.out, c.arena = c.out[:0], c.arena[:0]
}

// sendBatch is the rawConn's write callback: one sendmmsg of c.hdrs.
func (c *rawConn) sendBatch(fd uintptr) bool {
	n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&c.hdrs[0])), uintptr(len(c.hdrs)), 0, 0, 0)
	if e == unix.EAGAIN {
		return false
	}
	c.sent, c.errno = int(n), e
	if e != 0 {
		c.sent = 0
	}
	return true
}

func (c *rawConn) close() error { return c.pc.Close() }
