//go:build netns

package fwmark

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/vishvananda/netlink"
)

// Sysctls under /proc/sys/net belong to a namespace: changing them in a
// test namespace must not touch the host, and Undo restores them.
func TestSysctlInNamespace(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "sysctl")
	ns := netns.New(t)
	ctx := context.Background()
	host := Sysctl{}
	hostFwd, err := host.Get("net.ipv4.ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	s := Sysctl{NetNS: ns.Path()}
	cs, err := s.EnableForwarding(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nl, err := s.EnableNonlocalBind(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cs = append(cs, nl...)
	if len(cs) != 4 { // a fresh namespace has all four off
		t.Fatalf("changes:\n%s", cs)
	}
	if got := inNS(t, ns, "sysctl", "-n", "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding", "net.ipv4.ip_nonlocal_bind", "net.ipv6.ip_nonlocal_bind"); got != "1\n1\n1\n1\n" {
		t.Errorf("in namespace: %q", got)
	}
	if v := must(host.Get("net.ipv4.ip_forward")); v != hostFwd {
		t.Errorf("host ip_forward changed %s -> %s", hostFwd, v)
	}
	if err := cs.Undo(ctx); err != nil {
		t.Fatal(err)
	}
	if got := inNS(t, ns, "sysctl", "-n", "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding", "net.ipv4.ip_nonlocal_bind", "net.ipv6.ip_nonlocal_bind"); got != "0\n0\n0\n0\n" {
		t.Errorf("after Undo: %q", got)
	}
}

// drLAN is a director-side client and a real server on one segment.
type drLAN struct {
	client, rs *netns.NS
	rsMAC      net.HardwareAddr
	clientLink netlink.Link
}

func newDRLAN(t *testing.T) *drLAN {
	sw := netns.NewSwitch(t)
	l := &drLAN{client: netns.New(t), rs: netns.New(t)}
	sw.Connect(l.client, "eth0", netip.MustParsePrefix("10.0.0.1/24"), netip.MustParsePrefix("fd00::1/64"))
	sw.Connect(l.rs, "eth0", netip.MustParsePrefix("10.0.0.11/24"), netip.MustParsePrefix("fd00::11/64"))
	rsLink, err := l.rs.Handle().LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	l.rsMAC = rsLink.Attrs().HardwareAddr
	if l.clientLink, err = l.client.Handle().LinkByName("eth0"); err != nil {
		t.Fatal(err)
	}
	// Give up on unanswered neighbours after 3 × 300 ms rather than 3 s;
	// an answer inside one host takes well under a millisecond.
	for _, k := range []string{"net/ipv4/neigh/eth0/retrans_time_ms", "net/ipv6/neigh/eth0/retrans_time_ms"} {
		if _, err := (Sysctl{NetNS: l.client.Path()}).Set(context.Background(), k, "300"); err != nil {
			t.Fatal(err)
		}
	}
	// The VIPs are on the segment, as seen from the director.
	for _, vip := range []string{"10.0.0.100/32", "fd00:1::100/128"} {
		if err := l.client.Handle().RouteAdd(&netlink.Route{LinkIndex: l.clientLink.Attrs().Index, Dst: toIPNet(netip.MustParsePrefix(vip)), Scope: netlink.SCOPE_LINK}); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// arpAnswered sends traffic to addr from the client and reports whether
// the address got resolved to a MAC (ARP, or neighbour discovery for IPv6);
// it polls the neighbour entry until it is resolved or has failed (the
// kernel gives up after 3 probes, ~3 s).
func (l *drLAN) arpAnswered(t *testing.T, addr netip.Addr) bool {
	t.Helper()
	l.client.Do(func() error {
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(addr, 9).String(), 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return nil
	})
	for range 100 { // bounded: 100 × 100 ms
		ns, err := l.client.Handle().NeighList(l.clientLink.Attrs().Index, family(addr))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			if !n.IP.Equal(addr.AsSlice()) {
				continue
			}
			switch {
			case n.State&(netlink.NUD_REACHABLE|netlink.NUD_STALE|netlink.NUD_DELAY|netlink.NUD_PROBE) != 0:
				return true
			case n.State&netlink.NUD_FAILED != 0:
				return false
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("neighbour %s neither resolved nor failed", addr)
	return false
}

// accepts sends a TCP connection to VIP:80 as the director would forward
// it in DR mode: to the real server's MAC with the VIP as destination.
func (l *drLAN) accepts(t *testing.T, vip netip.Addr) {
	t.Helper()
	if err := l.client.Handle().NeighSet(&netlink.Neigh{LinkIndex: l.clientLink.Attrs().Index, Family: family(vip),
		State: netlink.NUD_PERMANENT, IP: vip.AsSlice(), HardwareAddr: l.rsMAC}); err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	if err := l.rs.Do(func() (err error) { ln, err = net.Listen("tcp", ":80"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serveConns(ln, func(c net.Conn) {
		c.Write([]byte("real server\n"))
		c.Close()
	})
	var got []byte
	err := l.client.Do(func() error {
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(vip, 80).String(), 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		got = make([]byte, 64)
		n, _ := c.Read(got)
		got = got[:n]
		if ra := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr(); ra != vip {
			t.Errorf("reply came from %s, not the VIP", ra)
		}
		return nil
	})
	if err != nil || string(got) != "real server\n" {
		t.Fatalf("connection to VIP: %q, %v", got, err)
	}
}

func family(a netip.Addr) int {
	if a.Is4() {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

// TestDRRealServerMethods prepares a real server with each of the seed's
// methods: it must not answer ARP (or IPv6 neighbour solicitations) for
// the VIPs, yet accept connections the director sends to them.
func TestDRRealServerMethods(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "nft")
	vip, vip6 := netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("fd00:1::100")
	for _, m := range []DRMethod{DRSysctl, DRARP, DRRedirect} {
		t.Run(m.String(), func(t *testing.T) {
			l := newDRLAN(t)
			ctx := context.Background()
			before := inNS(t, l.rs, "nft", "list", "ruleset")
			vips := []netip.Addr{vip, vip6}
			if m == DRARP {
				vips = vips[:1] // ARP is IPv4 only
			}
			rs := RealServer{Method: m, VIPs: vips, Interface: "eth0",
				RealIP: netip.MustParseAddr("10.0.0.11"), Services: []Service{{TCP, 80}}}
			if m == DRSysctl {
				// Control: without the sysctls, a VIP on lo is answered.
				l.rs.AddAddr("lo", netip.MustParsePrefix("10.0.0.200/32"))
				// Up to three tries, so that a loaded machine cannot fail it.
				answered := false
				for range 3 {
					if answered = l.arpAnswered(t, netip.MustParseAddr("10.0.0.200")); answered {
						break
					}
				}
				if !answered {
					t.Fatal("control: an address on lo was not answered with arp_ignore=0")
				}
			}
			cs, err := rs.Apply(ctx, l.rs.Path())
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("changes:\n%s", cs)
			if again, err := rs.Apply(ctx, l.rs.Path()); err != nil || len(again) != 0 {
				t.Errorf("second Apply = %v, %v; want no changes", again, err)
			}
			if m != DRSysctl {
				want := rs.nftTable()
				if got := inNS(t, l.rs, "nft", "list", "table", familyName(rs.tableSpec().family), DefaultDRTable); got != want {
					t.Errorf("nft list:\n%s\nwant:\n%s", got, want)
				}
			}
			for _, v := range vips {
				if l.arpAnswered(t, v) {
					t.Fatalf("real server answered ARP/ND for the VIP %s", v)
				}
			}
			for _, v := range vips {
				l.accepts(t, v)
			}
			if err := cs.Undo(ctx); err != nil {
				t.Fatal(err)
			}
			if after := inNS(t, l.rs, "nft", "list", "ruleset"); after != before {
				t.Errorf("ruleset after Undo:\n%s\nbefore:\n%s", after, before)
			}
			if v := must((Sysctl{NetNS: l.rs.Path()}).Get("net/ipv4/conf/eth0/arp_ignore")); v != "0" {
				t.Errorf("arp_ignore after Undo = %s", v)
			}
		})
	}
}
