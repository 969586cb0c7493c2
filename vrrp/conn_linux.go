package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"syscall"

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

// sender holds what one instance needs to send without allocating: the
// control message (source address and interface) marshalled once, the
// destination socket addresses, and the callback handed to the socket.
type sender struct {
	rc  syscall.RawConn
	oob []byte
	dst map[netip.Addr]unix.Sockaddr

	// Arguments of the pending write, read by writeFn.
	msg  []byte
	to   unix.Sockaddr
	err  error
	wfn  func(fd uintptr) bool
	lock sync.Mutex
}

func (c *rawConn) newSender(src netip.Addr, dsts []netip.Addr) (*sender, error) {
	s := &sender{dst: map[netip.Addr]unix.Sockaddr{}}
	sc, ok := c.pc.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("vrrp: raw socket without a file descriptor: %w", ErrInvalid)
	}
	var err error
	if s.rc, err = sc.SyscallConn(); err != nil {
		return nil, err
	}
	if c.ipv6 {
		s.oob = (&ipv6.ControlMessage{HopLimit: 255, Src: src.AsSlice(), IfIndex: c.ifi.Index}).Marshal()
	} else {
		s.oob = (&ipv4.ControlMessage{Src: src.AsSlice(), IfIndex: c.ifi.Index}).Marshal()
	}
	for _, d := range dsts {
		if d.Is4() {
			s.dst[d] = &unix.SockaddrInet4{Addr: d.As4()}
		} else {
			s.dst[d] = &unix.SockaddrInet6{Addr: d.As16()}
		}
	}
	s.wfn = func(fd uintptr) bool {
		s.err = unix.Sendmsg(int(fd), s.msg, s.oob, s.to, 0)
		return s.err != unix.EAGAIN
	}
	return s, nil
}

// write sends msg to dst (one of the sender's destinations).
func (s *sender) write(msg []byte, dst netip.Addr) error {
	to := s.dst[dst]
	if to == nil {
		return fmt.Errorf("vrrp: no destination %v: %w", dst, ErrInvalid)
	}
	s.lock.Lock()
	defer s.lock.Unlock()
	s.msg, s.to = msg, to
	err := s.rc.Write(s.wfn)
	s.msg, s.to = nil, nil
	return errors.Join(err, s.err)
}

func (c *rawConn) close() error { return c.pc.Close() }
