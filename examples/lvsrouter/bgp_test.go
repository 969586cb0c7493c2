package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/ipvs"
)

// eventLog records, in order, what the fake speaker and the fake IPVS saw.
type eventLog struct {
	mu sync.Mutex
	ev []string
}

func (l *eventLog) add(s string) {
	l.mu.Lock()
	l.ev = append(l.ev, s)
	l.mu.Unlock()
}

func (l *eventLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ev := l.ev
	l.ev = nil
	return ev
}

// fakeSpeaker is a bgpSpeaker with one established neighbour that counts
// the UPDATEs it sent.
type fakeSpeaker struct {
	log  *eventLog
	down bool // no neighbour established
	mu   sync.Mutex
	sent uint64
	// lag is how many Sent calls a withdraw takes to show in the counter.
	lag, pending int
}

func (f *fakeSpeaker) SetNeighbors(_ context.Context, ns []BGPNeighbor) error {
	var s []string
	for _, n := range ns {
		s = append(s, n.Address.String())
	}
	f.log.add("neighbors " + strings.Join(s, ","))
	return nil
}

func (f *fakeSpeaker) Announce(_ context.Context, p netip.Prefix, a bgpAttrs) error {
	f.log.add(fmt.Sprintf("announce %s med=%d", p, a.MED))
	f.mu.Lock()
	f.sent++
	f.mu.Unlock()
	return nil
}

func (f *fakeSpeaker) Withdraw(_ context.Context, p netip.Prefix) error {
	f.log.add("withdraw " + p.String())
	f.mu.Lock()
	f.pending = f.lag + 1
	f.mu.Unlock()
	return nil
}

func (f *fakeSpeaker) Sent(context.Context) (map[netip.Addr]uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return map[netip.Addr]uint64{}, nil
	}
	if f.pending > 0 {
		f.pending--
		if f.pending == 0 {
			f.sent++
		}
	}
	return map[netip.Addr]uint64{netip.MustParseAddr("10.0.0.1"): f.sent}, nil
}

func (f *fakeSpeaker) Reset(_ context.Context, n netip.Addr, why string) error {
	f.log.add("reset " + n.String() + ": " + why)
	return nil
}

func (f *fakeSpeaker) Close() error { f.log.add("close"); return nil }

// logOps is an in-memory IPVS that logs each operation.
type logOps struct{ log *eventLog }

func (o logOps) Dump(context.Context) ([]ipvs.Service, error) { return nil, nil }
func (o logOps) Do(_ context.Context, ops []ipvs.Op) error {
	for _, op := range ops {
		o.log.add("ipvs " + op.Kind.String())
	}
	return nil
}

func testBGPConfig(t *testing.T, src string) *BGPConfig {
	t.Helper()
	c, err := ParseBGP("bgp.conf", []byte("local_as 65001\nrouter_id 10.0.0.11\nneighbor 10.0.0.1 { remote_as 65000 }\n"+src))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func svc(addr string, port uint16) VirtualService {
	return VirtualService{Service: ipvs.ServiceSettings{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(netip.MustParseAddr(addr), port)}}
}

// TestBGPWantedFollowsQuorum is the decision: a VIP is announced while
// every service at its address has quorum (or any, with announce_when
// any), never while the router is unhealthy; fwmark services and VIPs not
// listed are not announced.
func TestBGPWantedFollowsQuorum(t *testing.T) {
	p := &Plan{Services: []VirtualService{svc("192.0.2.10", 80), svc("192.0.2.10", 443), svc("192.0.2.20", 80), svc("2001:db8::10", 80),
		{Service: ipvs.ServiceSettings{FWMark: 5}}}}
	// states builds Router.quorum's positional states from a service's
	// position and whether it has quorum.
	states := func(m map[int]bool) []uint8 {
		q := make([]uint8, len(p.Services))
		for i, up := range m {
			q[i] = upState(up)
		}
		return q
	}
	prefixes := func(m map[netip.Prefix]bgpAttrs) []string {
		var out []string
		for _, p := range slices.SortedFunc(func(yield func(netip.Prefix) bool) {
			for p := range m {
				if !yield(p) {
					return
				}
			}
		}, netip.Prefix.Compare) {
			out = append(out, p.String())
		}
		return out
	}
	all := testBGPConfig(t, "")
	any := testBGPConfig(t, "announce_when any\n")
	listed := testBGPConfig(t, "announce 192.0.2.20\n")
	for _, tc := range []struct {
		name    string
		c       *BGPConfig
		quorum  map[int]bool
		healthy bool
		want    []string
	}{
		{"all up (and unknown = up)", all, map[int]bool{0: true}, true, []string{"192.0.2.10/32", "192.0.2.20/32", "2001:db8::10/128"}},
		{"one of two down", all, map[int]bool{1: false}, true, []string{"192.0.2.20/32", "2001:db8::10/128"}},
		{"one of two down, any", any, map[int]bool{1: false}, true, []string{"192.0.2.10/32", "192.0.2.20/32", "2001:db8::10/128"}},
		{"both down, any", any, map[int]bool{0: false, 1: false, 3: false}, true, []string{"192.0.2.20/32"}},
		{"unhealthy", all, nil, false, nil},
		{"listed only", listed, nil, true, []string{"192.0.2.20/32"}},
		{"listed down", listed, map[int]bool{2: false}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := prefixes(bgpWanted(tc.c, p, states(tc.quorum), tc.healthy))
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

// TestBGPAnnouncerChangesOnlyWhatChanged: the same wanted set twice costs
// nothing; a changed MED re-announces; drain withdraws everything and
// waits for the UPDATE to go out, then drain_time.
func TestBGPAnnouncerChangesOnlyWhatChanged(t *testing.T) {
	log := &eventLog{}
	sp := &fakeSpeaker{log: log, lag: 3}
	c := testBGPConfig(t, "drain_time 0.25\n")
	a := newBGPAnnouncer(c, sp, slog.New(slog.DiscardHandler))
	var slept []time.Duration
	a.sleep = func(_ context.Context, d time.Duration) { slept = append(slept, d) }
	ctx := context.Background()
	p1, p2 := netip.MustParsePrefix("192.0.2.10/32"), netip.MustParsePrefix("192.0.2.20/32")
	want := map[netip.Prefix]bgpAttrs{p1: c.attrs(), p2: c.attrs()}
	step := func(w map[netip.Prefix]bgpAttrs) []string {
		if err := a.withdraw(ctx, w); err != nil {
			t.Fatal(err)
		}
		if err := a.announce(ctx, w); err != nil {
			t.Fatal(err)
		}
		return log.take()
	}
	if d := cmp.Diff([]string{"announce 192.0.2.10/32 med=0", "announce 192.0.2.20/32 med=0"}, step(want)); d != "" {
		t.Errorf("first: (-want +got)\n%s", d)
	}
	if got := step(want); len(got) != 0 {
		t.Errorf("unchanged: %v", got)
	}
	want[p2] = bgpAttrs{MED: 7, HasMED: true}
	delete(want, p1)
	if d := cmp.Diff([]string{"withdraw 192.0.2.10/32", "announce 192.0.2.20/32 med=7"}, step(want)); d != "" {
		t.Errorf("changed: (-want +got)\n%s", d)
	}
	if _, err := a.drain(ctx); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"withdraw 192.0.2.20/32"}, log.take()); d != "" {
		t.Errorf("drain: (-want +got)\n%s", d)
	}
	// Three polls before the counter moved, then drain_time.
	if d := cmp.Diff([]time.Duration{a.poll, a.poll, a.poll, 250 * time.Millisecond}, slept); d != "" {
		t.Errorf("drain waits: (-want +got)\n%s", d)
	}
}

// TestBGPDrainBounded: a neighbour whose counter never moves holds the
// stop for withdraw_timeout, not longer.
func TestBGPDrainBounded(t *testing.T) {
	log := &eventLog{}
	sp := &fakeSpeaker{log: log, lag: 1 << 30}
	c := testBGPConfig(t, "drain_time 0\nwithdraw_timeout 0.1\n")
	a := newBGPAnnouncer(c, sp, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	if err := a.announce(ctx, map[netip.Prefix]bgpAttrs{netip.MustParsePrefix("192.0.2.10/32"): {}}); err != nil {
		t.Fatal(err)
	}
	waited, err := a.drain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if waited < 100*time.Millisecond || waited > 2*time.Second {
		t.Errorf("drain waited %v, want about withdraw_timeout (100ms)", waited)
	}
}

// TestRouterBGPOrder runs a Router (in-memory IPVS, fake speaker) whose
// real server is checked by a MISC_CHECK on a flag file: the VIP is
// announced after its service is in IPVS; when the check fails (quorum
// lost) the withdraw goes out before IPVS drops the real server; it comes
// back after the server is back; a reload that changes nothing sends
// nothing; a stop withdraws, waits, and only then removes the service.
func TestRouterBGPOrder(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "flag")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`virtual_server 192.0.2.10 80 {
    protocol TCP
    delay_loop 0.05
    real_server 10.1.0.1 80 {
        MISC_CHECK {
            misc_path "/bin/sh -c 'test -e %s'"
            misc_timeout 5
        }
    }
}
`, flag)
	path := filepath.Join(dir, "k.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p, _, err := load(path, anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	p.BGP = testBGPConfig(t, "drain_time 0.05\nsloppy_tcp\nvip_interface lo\n")
	sysctlRoot = t.TempDir()
	defer func() { sysctlRoot = "" }()
	if err := os.MkdirAll(filepath.Join(sysctlRoot, "net/ipv4/vs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sysctlRoot, "net/ipv4/vs/sloppy_tcp"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	events := &eventLog{}
	r := newRouter(slog.New(slog.DiscardHandler))
	if r.mon, err = check.NewMonitor(&check.MonitorConfig{OnTransition: r.onCheck, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	r.applier = ipvs.NewApplier(logOps{events})
	r.bgp.newSpeaker = func(context.Context, *BGPConfig, *slog.Logger) (bgpSpeaker, error) {
		return &fakeSpeaker{log: events}, nil
	}
	fakeVIPs(t, events)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := r.Load(ctx, p); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	// waitFor collects events until last appears.
	var seen []string
	waitFor := func(last string) []string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			seen = append(seen, events.take()...)
			if i := slices.Index(seen, last); i >= 0 {
				out := seen[:i+1]
				seen = seen[i+1:]
				return out
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("no %q in %v", last, seen)
		return nil
	}
	if d := cmp.Diff([]string{"vip add lo 192.0.2.10/32", "neighbors 10.0.0.1", "ipvs add-service", "ipvs add-server", "announce 192.0.2.10/32 med=0"}, waitFor("announce 192.0.2.10/32 med=0")); d != "" {
		t.Errorf("start: (-want +got)\n%s", d)
	}
	if b, err := os.ReadFile(filepath.Join(sysctlRoot, "net/ipv4/vs/sloppy_tcp")); err != nil || string(b) != "1\n" {
		t.Errorf("sloppy_tcp: %q %v", b, err)
	}
	// The check's first success adds the real server (alpha is off: up
	// from the start, so the destination is there already).
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	got := waitFor("ipvs delete-server")
	if d := cmp.Diff([]string{"withdraw 192.0.2.10/32", "ipvs delete-server"}, got); d != "" {
		t.Errorf("quorum lost: (-want +got)\n%s", d)
	}
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"ipvs add-server", "announce 192.0.2.10/32 med=0"}, waitFor("announce 192.0.2.10/32 med=0")); d != "" {
		t.Errorf("quorum back: (-want +got)\n%s", d)
	}
	// A reload of the same files changes nothing.
	p2, _, err := load(path, anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	p2.BGP = testBGPConfig(t, "drain_time 0.05\nsloppy_tcp\nvip_interface lo\n")
	if err := r.Reload(ctx, p2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if got := append(seen, events.take()...); !slices.Equal(got, []string{"neighbors 10.0.0.1"}) {
		t.Errorf("unchanged reload: %v", got)
	}
	seen = nil
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The VIP leaves lo after the drain and before IPVS: a late packet is
	// dropped rather than reset by the local stack.
	if d := cmp.Diff([]string{"withdraw 192.0.2.10/32", "vip del lo 192.0.2.10/32", "ipvs delete-service", "close"}, events.take()); d != "" {
		t.Errorf("stop: (-want +got)\n%s", d)
	}
}

// fakeVIPs makes vipAdd and vipDel record into events instead of changing
// the host's interfaces.
func fakeVIPs(t *testing.T, events *eventLog) {
	t.Helper()
	add, del := vipAdd, vipDel
	t.Cleanup(func() { vipAdd, vipDel = add, del })
	vipAdd = func(iface string, p netip.Prefix) (bool, error) {
		events.add("vip add " + iface + " " + p.String())
		return true, nil
	}
	vipDel = func(iface string, p netip.Prefix) error {
		events.add("vip del " + iface + " " + p.String())
		return nil
	}
}

// TestRouterBGPCheckersStopped: when the checkers stop while the router
// runs, every VIP is withdrawn, and a later apply does not announce again;
// the status socket's "bgp" member follows.
func TestRouterBGPCheckersStopped(t *testing.T) {
	p := &Plan{Services: []VirtualService{svc("192.0.2.10", 80)}}
	p.Services[0].Quorum = 1
	p.Services[0].Reals = []RealServer{{Dest: ipvs.DestinationSettings{Addr: netip.MustParseAddrPort("10.1.0.1:80"), Weight: 1}}}
	p.BGP = testBGPConfig(t, "")
	events := &eventLog{}
	r := newRouter(slog.New(slog.DiscardHandler))
	var err error
	if r.mon, err = check.NewMonitor(nil); err != nil {
		t.Fatal(err)
	}
	r.applier = ipvs.NewApplier(logOps{events})
	r.bgp.newSpeaker = func(context.Context, *BGPConfig, *slog.Logger) (bgpSpeaker, error) {
		return &fakeSpeaker{log: events}, nil
	}
	ctx := context.Background()
	if err := r.Load(ctx, p); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"neighbors 10.0.0.1", "ipvs add-service", "ipvs add-server", "announce 192.0.2.10/32 med=0"}, events.take()); d != "" {
		t.Errorf("start: (-want +got)\n%s", d)
	}
	if st := string(r.ops.statusJSON()); !strings.Contains(st, `"bgp":[{"prefix":"192.0.2.10/32","announced":true}]`) {
		t.Errorf("status while announced: %s", st)
	}
	r.checkersStopped(fmt.Errorf("monitor failed"))
	if err := r.apply(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.apply(ctx); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"withdraw 192.0.2.10/32"}, events.take()); d != "" {
		t.Errorf("checkers stopped: (-want +got)\n%s", d)
	}
	if st := string(r.ops.statusJSON()); !strings.Contains(st, `"bgp":[{"prefix":"192.0.2.10/32","announced":false}]`) {
		t.Errorf("status after the withdraw: %s", st)
	}
	r.close()
}

// TestRouterBGPSpeakerStartFails: a speaker that cannot start fails the
// first Load.
func TestRouterBGPSpeakerStartFails(t *testing.T) {
	p := &Plan{BGP: testBGPConfig(t, "")}
	r := newRouter(slog.New(slog.DiscardHandler))
	var err error
	if r.mon, err = check.NewMonitor(nil); err != nil {
		t.Fatal(err)
	}
	r.bgp.newSpeaker = func(context.Context, *BGPConfig, *slog.Logger) (bgpSpeaker, error) {
		return nil, fmt.Errorf("bgp: start: listen tcp :179: address already in use")
	}
	if err := r.Load(context.Background(), p); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("Load: %v", err)
	}
	r.close()
}

// TestBGPDrainWithoutNeighbours: with no session established nobody has
// the routes, and a stop does not wait drain_time.
func TestBGPDrainWithoutNeighbours(t *testing.T) {
	sp := &fakeSpeaker{log: &eventLog{}, down: true}
	a := newBGPAnnouncer(testBGPConfig(t, "drain_time 60\n"), sp, slog.New(slog.DiscardHandler))
	var slept []time.Duration
	a.sleep = func(_ context.Context, d time.Duration) { slept = append(slept, d) }
	ctx := context.Background()
	if err := a.announce(ctx, map[netip.Prefix]bgpAttrs{netip.MustParsePrefix("192.0.2.10/32"): {}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.drain(ctx); err != nil {
		t.Fatal(err)
	}
	if len(slept) != 0 || len(a.announced) != 0 {
		t.Errorf("slept %v, still announced %v", slept, a.announced)
	}
}
