package check

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/lvskit/lvskit/internal/inns"
	"golang.org/x/sys/unix"
)

// bfdTOS is DSCP CS6 (network control), as FRR and keepalived mark BFD.
const bfdTOS = 0xc0

type udpSender struct{ c *net.UDPConn }

func (s udpSender) send(b []byte, to netip.AddrPort) error {
	_, err := s.c.WriteToUDPAddrPort(b, to)
	return err
}

func (s udpSender) close() error { return s.c.Close() }

// openBFDSender binds a UDP socket to c.Local and a free source port in
// 49152-65535 (RFC 5881 §4), with the session's TTL and DSCP CS6.
func openBFDSender(path string, c *BFDSessionConfig) (bfdSender, error) {
	v6 := c.Peer.Unmap().Is6()
	network, local := "udp4", netip.IPv4Unspecified()
	if v6 {
		network, local = "udp6", netip.IPv6Unspecified()
	}
	if c.Local.IsValid() {
		local = c.Local
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			f := int(fd)
			if v6 {
				serr = errors.Join(unix.SetsockoptInt(f, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, c.TTL),
					unix.SetsockoptInt(f, unix.IPPROTO_IPV6, unix.IPV6_TCLASS, bfdTOS))
			} else {
				serr = errors.Join(unix.SetsockoptInt(f, unix.IPPROTO_IP, unix.IP_TTL, c.TTL),
					unix.SetsockoptInt(f, unix.IPPROTO_IP, unix.IP_TOS, bfdTOS))
			}
			if serr == nil && c.Interface != "" {
				serr = unix.BindToDevice(f, c.Interface)
			}
		})
		return errors.Join(err, serr)
	}}
	var conn *net.UDPConn
	err := inns.Run(path, func() error {
		var err error
		for range 64 { // bounded: 64 random ports, each taken only if another session holds it
			port := bfdMinSrcPort + rand.IntN(bfdMaxSrcPort-bfdMinSrcPort+1)
			var pc net.PacketConn
			pc, err = lc.ListenPacket(context.Background(), network, netip.AddrPortFrom(local, uint16(port)).String())
			if err == nil {
				conn = pc.(*net.UDPConn)
				return nil
			}
			if !errors.Is(err, unix.EADDRINUSE) {
				return err
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return udpSender{conn}, nil
}

type udpListener struct {
	c    *net.UDPConn
	done atomic.Bool
}

func (l *udpListener) read(b, oob []byte) (int, netip.Addr, netip.Addr, int, error) {
	n, oobn, _, from, err := l.c.ReadMsgUDPAddrPort(b, oob)
	if err != nil {
		return 0, netip.Addr{}, netip.Addr{}, 0, err
	}
	ttl, dst := parseCmsg(oob[:oobn])
	return n, from.Addr(), dst, ttl, nil
}

func (l *udpListener) close() error {
	l.done.Store(true)
	return l.c.Close()
}

func (l *udpListener) closed() bool { return l.done.Load() }

// openBFDListener listens on the BFD port of one family, asking the
// kernel for each packet's TTL or hop limit.
func openBFDListener(path string, v6, multihop bool) (bfdListener, error) {
	port := BFDPort
	if multihop {
		port = BFDMultihopPort
	}
	network, addr := "udp4", fmt.Sprintf("0.0.0.0:%d", port)
	if v6 {
		network, addr = "udp6", fmt.Sprintf("[::]:%d", port)
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			if v6 {
				serr = errors.Join(unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVHOPLIMIT, 1),
					unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1))
			} else {
				serr = errors.Join(unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVTTL, 1),
					unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1))
			}
		})
		return errors.Join(err, serr)
	}}
	var conn *net.UDPConn
	err := inns.Run(path, func() error {
		pc, err := lc.ListenPacket(context.Background(), network, addr)
		if err != nil {
			return err
		}
		conn = pc.(*net.UDPConn)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &udpListener{c: conn}, nil
}

// parseCmsg returns the IP_TTL or IPV6_HOPLIMIT value in oob (-1 if
// absent) and the packet's destination address from IP_PKTINFO or
// IPV6_PKTINFO.
func parseCmsg(oob []byte) (ttl int, dst netip.Addr) {
	ttl = -1
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(oob) {
			return ttl, dst
		}
		data := oob[unix.SizeofCmsghdr:l]
		switch {
		case (h.Level == unix.IPPROTO_IP && h.Type == unix.IP_TTL) || (h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_HOPLIMIT):
			if len(data) >= 4 {
				ttl = int(int32(binary.NativeEndian.Uint32(data)))
			}
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			// struct in_pktinfo: ifindex, spec_dst, addr (the header's destination)
			dst = netip.AddrFrom4([4]byte(data[8:12]))
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			dst = netip.AddrFrom16([16]byte(data[0:16]))
		}
		sp := unix.CmsgSpace(l - unix.SizeofCmsghdr)
		if sp > len(oob) {
			break
		}
		oob = oob[sp:]
	}
	return ttl, dst
}
