//go:build netns

package check_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/internal/frr"
	"github.com/lvskit/lvskit/internal/netns"
)

// bfdTopo is A (lvskit) -- R (router, single-hop peer) -- B (multihop peer),
// each link with IPv4 and IPv6.
type bfdTopo struct {
	A, R, B *netns.NS
}

var (
	addrA4, addrA6 = netip.MustParseAddr("10.0.1.1"), netip.MustParseAddr("fd00:1::1")
	addrR4, addrR6 = netip.MustParseAddr("10.0.1.2"), netip.MustParseAddr("fd00:1::2")
	addrB4, addrB6 = netip.MustParseAddr("10.0.2.2"), netip.MustParseAddr("fd00:2::2")
)

func newBFDTopo(t testing.TB) *bfdTopo {
	t.Helper()
	tp := &bfdTopo{A: netns.New(t), R: netns.New(t), B: netns.New(t)}
	for _, ns := range []*netns.NS{tp.A, tp.R, tp.B} {
		// Link-loss tests set links down and up again: keep IPv6 addresses.
		run(t, ns, "sysctl", "-qw", "net.ipv6.conf.all.keep_addr_on_down=1", "net.ipv6.conf.default.keep_addr_on_down=1")
	}
	netns.Veth(t, tp.A, "a0", tp.R, "ra")
	netns.Veth(t, tp.R, "rb", tp.B, "b0")
	tp.A.AddAddr("a0", netip.MustParsePrefix("10.0.1.1/24"), netip.MustParsePrefix("fd00:1::1/64"))
	tp.R.AddAddr("ra", netip.MustParsePrefix("10.0.1.2/24"), netip.MustParsePrefix("fd00:1::2/64"))
	tp.R.AddAddr("rb", netip.MustParsePrefix("10.0.2.1/24"), netip.MustParsePrefix("fd00:2::1/64"))
	tp.B.AddAddr("b0", netip.MustParsePrefix("10.0.2.2/24"), netip.MustParsePrefix("fd00:2::2/64"))
	run(t, tp.R, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
	run(t, tp.A, "ip", "route", "add", "10.0.2.0/24", "via", "10.0.1.2")
	run(t, tp.A, "ip", "-6", "route", "add", "fd00:2::/64", "via", "fd00:1::2")
	run(t, tp.B, "ip", "route", "add", "10.0.1.0/24", "via", "10.0.2.1")
	run(t, tp.B, "ip", "-6", "route", "add", "fd00:1::/64", "via", "fd00:2::1")
	return tp
}

func run(t testing.TB, ns *netns.NS, name string, args ...string) string {
	t.Helper()
	out, err := ns.Command(context.Background(), name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// bfdd is FRR's bfdd running alone in a namespace (internal/frr).
type bfdd struct {
	*frr.Router
	proc *netns.Process
}

func startBFDD(t testing.TB, ns *netns.NS, conf string) *bfdd {
	t.Helper()
	r := frr.StartBFDD(t, ns, conf)
	return &bfdd{Router: r, proc: r.Process("bfdd")}
}

// frrPeer is one entry of `show bfd peers json`.
type frrPeer = frr.BFDPeer

func (d *bfdd) peers(t testing.TB) []frrPeer {
	t.Helper()
	ps, err := d.BFDPeers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// events collects a manager's transitions.
type events struct {
	mu  sync.Mutex
	all []check.BFDTransition
	ch  chan check.BFDTransition
}

func newEvents() *events { return &events{ch: make(chan check.BFDTransition, 1024)} }

func (e *events) on(tr check.BFDTransition) {
	e.mu.Lock()
	e.all = append(e.all, tr)
	e.mu.Unlock()
	select {
	case e.ch <- tr:
	default:
	}
}

// startManager runs a BFD manager in ns until the test ends.
func startManager(t testing.TB, ns *netns.NS, ev *events) *check.BFDManager {
	t.Helper()
	m := check.NewBFDManager(&check.BFDManagerConfig{NetNS: ns.Path(), OnTransition: ev.on})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		m.Close()
	})
	return m
}

// waitStates polls until every named session is in state want, or fails
// after limit.
func waitStates(t testing.TB, m *check.BFDManager, want check.BFDState, limit time.Duration, names ...string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var bad []string
		for _, n := range names {
			st, ok := m.Session(n)
			if !ok || st.State != want {
				bad = append(bad, fmt.Sprintf("%s=%v", n, st.State))
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v not %v: %v", limit, want, bad)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
