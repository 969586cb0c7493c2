//go:build netns

package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/vishvananda/netlink"
)

// TestHASuspendFollowsKernelAddressEvents: the router watches the address
// events of a namespace (as keepalived's checker does with its netlink
// reflector): while the ha_suspend service's VIP is absent its TCP check
// never reaches the real server; the VIP added resumes it within one
// delay_loop; the VIP on two interfaces keeps it running until both lost
// it; removed, the checks stop again. The real server listens on the
// host's loopback, where the Monitor's sockets live.
func TestHASuspendFollowsKernelAddressEvents(t *testing.T) {
	testenv.NeedRoot(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	mustWrite(t, path, fmt.Appendf(nil, `virtual_server 10.0.0.10 80 {
    delay_loop 0.2
    ha_suspend
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 %d {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`, port))
	p, err := translateFile(t, path)
	if err != nil {
		t.Fatal(err)
	}

	a, b := netns.New(t), netns.New(t)
	netns.Veth(t, a, "v0", b, "v1")
	a.LinkUp("lo")
	a.LinkUp("v0")

	r := newRouter(slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	mon, err := check.NewMonitor(nil)
	if err != nil {
		t.Fatal(err)
	}
	r.mon = mon
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mon.Run(ctx) }()
	defer func() {
		r.closeHASuspend()
		cancel()
		<-done
		mon.Close()
	}()
	r.plan = p
	r.syncChecks(nil, p)
	// The watcher's sockets are made in the namespace and stay there.
	if err := a.Do(func() error { r.syncHASuspend(); return nil }); err != nil {
		t.Fatal(err)
	}

	// checking reports whether checks ran over 1 s (five delay_loops).
	// (The TCP check is half-open: the server never accepts; the
	// Monitor counts the checks.)
	id := p.Services[0].Reals[0].Checks[0].ID
	checks := func() uint64 { st, _ := mon.Stats(id); return st.Checks }
	checking := func() bool {
		n := checks()
		time.Sleep(time.Second)
		return checks() > n
	}
	if checking() {
		t.Fatal("checks ran while the VIP was not local")
	}
	vip := &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix("10.0.0.10/32"))}
	link := func(name string) netlink.Link {
		l, err := a.Handle().LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if err := a.Handle().AddrAdd(link("lo"), vip); err != nil {
		t.Fatal(err)
	}
	// Within one delay_loop of the address event, then every one.
	time.Sleep(300 * time.Millisecond)
	if !checking() {
		t.Fatal("checks did not resume when the VIP appeared")
	}
	if err := a.Handle().AddrAdd(link("v0"), vip); err != nil {
		t.Fatal(err)
	}
	if err := a.Handle().AddrDel(link("lo"), vip); err != nil {
		t.Fatal(err)
	}
	if !checking() {
		t.Fatal("checks stopped while the VIP was still on v0")
	}
	if err := a.Handle().AddrDel(link("v0"), vip); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // a check in flight may finish
	if checking() {
		t.Fatal("checks ran after the VIP left every interface")
	}
	if st, _ := mon.Stats(id); !st.Up || !st.Suspended {
		t.Errorf("suspended check: %+v, want up (its last state) and suspended", st)
	}
}

// testWriter logs through t.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
