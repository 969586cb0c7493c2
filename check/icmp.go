package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// ICMP is keepalived's PING_CHECK: one ICMP echo request, the target up when
// the matching echo reply arrives within Timeout. It uses an unprivileged
// ping socket where net.ipv4.ping_group_range allows one and a raw socket
// (root or CAP_NET_RAW) otherwise.
type ICMP struct {
	// Addr is the target's address.
	Addr netip.Addr
	// Socket picks the kind of socket: "" tries a ping socket, then a raw
	// one; "ping" and "raw" use only that kind.
	Socket string
	// Timeout bounds the whole check; zero means 5 s.
	Timeout time.Duration
}

// ErrNoICMPSocket is returned when neither a ping socket nor a raw socket
// can be opened.
var ErrNoICMPSocket = errors.New("check: no ICMP socket: ping sockets not allowed and no raw socket permission")

// ICMPSocket reports which kind of ICMP socket the system lets this process
// open for the address family of a ("udp4"/"udp6" for ping sockets,
// "ip4:icmp"/"ip6:ipv6-icmp" for raw), or ErrNoICMPSocket.
func ICMPSocket(a netip.Addr) (string, error) {
	c, network, err := listenICMP(a, "")
	if err != nil {
		return "", err
	}
	c.Close()
	return network, nil
}

// icmpNetwork caches the network that worked, per family.
var icmpNetwork [2]struct {
	sync.Mutex
	name string
}

func listenICMP(a netip.Addr, kind string) (*icmp.PacketConn, string, error) {
	fam, laddr, cands := 0, "0.0.0.0", []string{"udp4", "ip4:icmp"}
	if a.Is6() && !a.Is4In6() {
		fam, laddr, cands = 1, "::", []string{"udp6", "ip6:ipv6-icmp"}
	}
	switch kind {
	case "ping":
		return listenOne(cands[0], laddr)
	case "raw":
		return listenOne(cands[1], laddr)
	case "":
	default:
		return nil, "", fmt.Errorf("ICMP socket kind %q: want \"\", \"ping\" or \"raw\"", kind)
	}
	cache := &icmpNetwork[fam]
	cache.Lock()
	known := cache.name
	cache.Unlock()
	if known != "" {
		cands = []string{known}
	}
	var errs []error
	for _, n := range cands {
		c, err := icmp.ListenPacket(n, laddr)
		if err == nil {
			cache.Lock()
			cache.name = n
			cache.Unlock()
			return c, n, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", n, err))
	}
	return nil, "", fmt.Errorf("%w (%v)", ErrNoICMPSocket, errors.Join(errs...))
}

func listenOne(network, laddr string) (*icmp.PacketConn, string, error) {
	c, err := icmp.ListenPacket(network, laddr)
	if err != nil {
		return nil, "", fmt.Errorf("%w (%s: %v)", ErrNoICMPSocket, network, err)
	}
	return c, network, nil
}

// Check sends one echo request.
func (c ICMP) Check(ctx context.Context) Result {
	start := time.Now()
	ctx, cancel := withDeadline(ctx, c.Timeout)
	defer cancel()
	addr := c.Addr.Unmap()
	conn, network, err := listenICMP(addr, c.Socket)
	if err != nil {
		return down(start, "icmp socket", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var typ, replyType icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	proto := 1
	if addr.Is6() {
		typ, replyType, proto = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, 58
	}
	id, seq := int(rand.Uint32()&0xffff), int(rand.Uint32()&0xffff)
	data := fmt.Appendf(nil, "lvskit-check %016x", rand.Uint64())
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: data}}
	wb, err := msg.Marshal(nil)
	if err != nil {
		return down(start, "marshal echo", err)
	}
	unpriv := network == "udp4" || network == "udp6"
	var dst net.Addr = &net.IPAddr{IP: addr.AsSlice()}
	if unpriv {
		dst = &net.UDPAddr{IP: addr.AsSlice()}
	}
	if _, err := conn.WriteTo(wb, dst); err != nil {
		return down(start, "send echo", ioErr(ctx, err))
	}
	rb := make([]byte, 1500)
	for {
		n, peer, err := conn.ReadFrom(rb)
		if err != nil {
			return down(start, "no echo reply", ioErr(ctx, err))
		}
		if pa, ok := netip.AddrFromSlice(ipOf(peer)); !ok || pa.Unmap() != addr {
			continue
		}
		m, err := icmp.ParseMessage(proto, rb[:n])
		if err != nil || m.Type != replyType {
			continue
		}
		e, ok := m.Body.(*icmp.Echo)
		// A ping socket rewrites the identifier to its port; match on the
		// sequence and payload there.
		if !ok || e.Seq != seq || !bytes.Equal(e.Data, data) || (!unpriv && e.ID != id) {
			continue
		}
		return up(start)
	}
}

func ipOf(a net.Addr) net.IP {
	switch a := a.(type) {
	case *net.IPAddr:
		return a.IP
	case *net.UDPAddr:
		return a.IP
	}
	return nil
}
