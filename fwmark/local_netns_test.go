//go:build netns

package fwmark

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestLocalDeliveryPrefix marks a whole prefix of VIPs that no interface
// holds; LocalDelivery makes the marked packets local, so a listener on the
// router accepts connections to any address in it, and Undo takes that
// away again.
func TestLocalDeliveryPrefix(t *testing.T) {
	testenv.NeedRoot(t)
	router, client := netns.New(t), netns.New(t)
	netns.Veth(t, router, "eth0", client, "eth0")
	router.AddAddr("eth0", netip.MustParsePrefix("10.0.0.2/24"), netip.MustParsePrefix("fd00::2/64"))
	client.AddAddr("eth0", netip.MustParsePrefix("10.0.0.1/24"), netip.MustParsePrefix("fd00::1/64"))
	l, err := client.Handle().LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ dst, gw string }{{"10.0.2.0/24", "10.0.0.2"}, {"fd00:2::/64", "fd00::2"}} {
		if err := client.Handle().RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: toIPNet(netip.MustParsePrefix(r.dst)), Gw: net.ParseIP(r.gw)}); err != nil {
			t.Fatal(err)
		}
	}
	// The router answers from addresses it does not hold, so its listener
	// is transparent (as with TPROXY); IPVS, which forwards instead of
	// answering, needs no such thing.
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = errors.Join(
				unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_TRANSPARENT, 1),
				unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_TRANSPARENT, 1))
		})
		return errors.Join(err, serr)
	}}
	var ln net.Listener
	if err := router.Do(func() (err error) { ln, err = lc.Listen(context.Background(), "tcp", ":80"); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	serveConns(ln, func(c net.Conn) { c.Close() })
	ctx := context.Background()
	applyConf(t, router.Path(), "mark 90 tcp 10.0.2.0/24 80\nmark 90 tcp fd00:2::/64 80\n")

	dial := func(addr string, timeout time.Duration) error {
		return client.Do(func() error {
			c, err := net.DialTimeout("tcp", addr, timeout)
			if err == nil {
				c.Close()
			}
			return err
		})
	}
	targets := []string{"10.0.2.77:80", "10.0.2.200:80", "[fd00:2::77]:80"}
	// Without local delivery the router has no route for the prefix: the
	// SYN is dropped (forwarding is off) or answered unreachable.
	if err := dial(targets[0], 500*time.Millisecond); err == nil {
		t.Fatal("connected before LocalDelivery")
	}

	ld := LocalDelivery{Marks: []uint32{90}, Table: 90}
	cs, err := ld.Apply(ctx, router.Path())
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 4 {
		t.Fatalf("changes:\n%s", cs)
	}
	if again, err := ld.Apply(ctx, router.Path()); err != nil || len(again) != 0 {
		t.Fatalf("second Apply: %v, %v", again, err)
	}
	for _, a := range targets {
		if err := dial(a, 10*time.Second); err != nil {
			t.Errorf("connect to %s: %v", a, err)
		}
	}
	// Unmarked ports of the prefix stay non-local: no RST comes back.
	if err := dial("10.0.2.77:81", 500*time.Millisecond); err == nil || errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("port 81 reached the router: %v", err)
	}
	if err := cs.Undo(ctx); err != nil {
		t.Fatal(err)
	}
	rules := must(router.Handle().RuleList(netlink.FAMILY_ALL))
	for _, r := range rules {
		if r.Table == 90 {
			t.Errorf("rule left after Undo: %v", r)
		}
	}
	if err := dial(targets[0], 500*time.Millisecond); err == nil {
		t.Error("connected after Undo")
	}
}
