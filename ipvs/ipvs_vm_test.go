//go:build vm

package ipvs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// requestsSent reports how many netlink requests the client has sent (for
// tests that count operations).
func (c *Client) requestsSent() int {
	n := c.c.sent
	for _, d := range c.dumpers {
		n += d.sent
	}
	return n
}

// vmClient dials IPVS in the guest and flushes it before and after the test.
func vmClient(t *testing.T) *Client {
	t.Helper()
	testenv.NeedVM(t)
	ctx := context.Background()
	c, err := Dial(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Flush(context.Background())
		c.Close()
	})
	return c
}

// ipvsadm runs the real ipvsadm and returns its standard output.
func ipvsadm(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("ipvsadm", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ipvsadm %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// richState is a state that uses every field IPVS has.
func richState() []Service {
	return []Service{
		{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80"), Scheduler: "wlc",
			Destinations: []Destination{
				{Addr: netip.MustParseAddrPort("10.1.0.2:8080"), Forward: Masquerade, Weight: 1, UpperThreshold: 100, LowerThreshold: 50},
				{Addr: netip.MustParseAddrPort("10.1.0.1:80"), Forward: Route, Weight: 0},
				{Addr: netip.MustParseAddrPort("10.1.0.3:80"), Forward: Tunnel, Weight: 2, TunnelType: TunnelGUE, TunnelPort: 6080, TunnelFlags: TunnelChecksum},
				{Addr: netip.MustParseAddrPort("10.1.0.4:80"), Forward: Tunnel, Weight: 3, TunnelType: TunnelGRE, TunnelFlags: TunnelRemoteChecksum},
				{Addr: netip.MustParseAddrPort("10.1.0.5:80"), Forward: Tunnel, Weight: 4, TunnelType: TunnelIPIP},
				{Addr: netip.MustParseAddrPort("[2001:db8::5]:80"), Forward: Tunnel, Weight: 5, TunnelType: TunnelIPIP},
				{Addr: netip.MustParseAddrPort("10.1.0.6:80"), Forward: Local, Weight: 6},
				{Addr: netip.MustParseAddrPort("10.1.0.7:80"), Forward: Tunnel, Weight: 7, TunnelType: TunnelGUE, TunnelPort: 5555, TunnelFlags: TunnelNoChecksum},
				{Addr: netip.MustParseAddrPort("10.1.0.8:80"), Forward: Tunnel, Weight: 8, TunnelType: TunnelGRE, TunnelFlags: TunnelChecksum},
			}},
		{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.4:5060"), Scheduler: "rr", PersistenceEngine: "sip"},
		{Protocol: TCP, Addr: netip.MustParseAddrPort("200.0.0.1:443"), Scheduler: "sh", Flags: FlagSHFallback | FlagSHPort | FlagPersistent,
			Timeout: 300 * time.Second, Netmask: 0xffffff00,
			Destinations: []Destination{{Addr: netip.MustParseAddrPort("10.2.0.1:443"), Forward: Route, Weight: 1}}},
		{Protocol: UDP, Addr: netip.MustParseAddrPort("10.0.0.1:5060"), Scheduler: "rr", Flags: FlagOnePacket | FlagPersistent,
			Timeout: 60 * time.Second, PersistenceEngine: "sip"},
		{Protocol: SCTP, Addr: netip.MustParseAddrPort("10.0.0.2:9"), Scheduler: "mh", Flags: FlagMHPort | FlagMHFallback},
		{Protocol: TCP, Addr: netip.MustParseAddrPort("[2001:db8::1]:80"), Scheduler: "lc", Flags: FlagPersistent, Timeout: 360 * time.Second, Netmask: 64,
			Destinations: []Destination{
				{Addr: netip.MustParseAddrPort("[2001:db8::10]:80"), Forward: Route, Weight: 1},
				{Addr: netip.MustParseAddrPort("[2001:db8::9]:8080"), Forward: Masquerade, Weight: 2, UpperThreshold: 7},
			}},
		{Family: IPv4, FWMark: 5, Scheduler: "rr", Flags: SchedFlag3,
			Destinations: []Destination{{Addr: netip.MustParseAddrPort("10.1.0.9:0"), Forward: Route, Weight: 1}}},
		{Family: IPv6, FWMark: 5, Scheduler: "wrr",
			Destinations: []Destination{{Addr: netip.MustParseAddrPort("[2001:db8::7]:0"), Forward: Route, Weight: 9}}},
		{Protocol: UDP, Addr: netip.MustParseAddrPort("10.0.0.3:53"), Scheduler: "nq", Flags: FlagOnePacket},
	}
}

// TestVMEveryFieldReadsBack writes a state using every field IPVS has and
// reads it back equal, as a whole and service by service; ipvsadm sees as
// many entries. (examples/ipvsadm's TestVMCLIListingsMatchIpvsadm compares
// the same fields with ipvsadm's listings byte for byte.)
func TestVMEveryFieldReadsBack(t *testing.T) {
	c := vmClient(t)
	ctx := context.Background()
	want := richState()
	ch, err := c.Apply(ctx, want, nil)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if n := ch.Count(OpNewService); n != len(want) {
		t.Errorf("created %d services, want %d", n, len(want))
	}
	got, err := c.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := configString(got), configString(want); a != b {
		t.Errorf("kernel state differs from desired:\n got %s\nwant %s", a, b)
	}
	for _, s := range got {
		if s.Flags&FlagHashed == 0 {
			t.Errorf("%v: kernel did not report the hashed flag", s)
		}
	}
	// ipvsadm reads the same state (examples/ipvsadm's VM tests compare
	// every listing byte for byte).
	if n := strings.Count(ipvsadm(t, "-S", "-n"), "\n"); n != len(want)+countDests(want) {
		t.Errorf("ipvsadm -S -n lists %d lines, want %d", n, len(want)+countDests(want))
	}
	// One service read alone, with its destinations.
	s, err := c.Service(ctx, Service{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80")})
	if err != nil {
		t.Fatal(err)
	}
	if s.Destinations, err = c.Destinations(ctx, s); err != nil {
		t.Fatal(err)
	}
	if a, b := configString([]Service{s}), configString(want[:1]); a != b {
		t.Errorf("Service + Destinations:\n got %s\nwant %s", a, b)
	}
	// Idempotent: nothing to do the second time.
	if ch, err := c.Apply(ctx, want, nil); err != nil || ch.Len() != 0 {
		t.Errorf("second Apply: %v, %v", ch.Ops, err)
	}
}

// countDests counts the destinations of svcs.
func countDests(svcs []Service) int {
	n := 0
	for _, s := range svcs {
		n += len(s.Destinations)
	}
	return n
}

// configString renders the configurable fields canonically.
func configString(svcs []Service) string {
	var lines []string
	for _, s := range svcs {
		lines = append(lines, fmt.Sprintf("%v sched=%s flags=%#x timeout=%v mask=%#x pe=%q", s.Key(), s.scheduler(),
			uint32(s.Flags&^FlagHashed), s.Timeout, s.netmask(), s.PersistenceEngine))
		for _, d := range s.Destinations {
			lines = append(lines, fmt.Sprintf("%v -> %v %v w=%d x=%d y=%d tun=%v/%d/%d", s.Key(), d.Addr, d.Forward, d.Weight,
				d.UpperThreshold, d.LowerThreshold, d.TunnelType, d.TunnelPort, d.TunnelFlags))
		}
	}
	sortStrings(lines)
	return strings.Join(lines, "\n")
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestVMCommandsAndErrors(t *testing.T) {
	c := vmClient(t)
	ctx := context.Background()
	svc := Service{Protocol: TCP, Addr: netip.MustParseAddrPort("10.9.0.1:80"), Scheduler: "rr"}
	dst := Destination{Addr: netip.MustParseAddrPort("10.9.1.1:80"), Forward: Masquerade, Weight: 1}

	if _, err := c.Service(ctx, svc); !errors.Is(err, ErrNotFound) {
		t.Errorf("get missing service: %v", err)
	}
	if err := c.NewService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if err := c.NewService(ctx, svc); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate service: %v", err)
	}
	bad := svc
	bad.Addr = netip.MustParseAddrPort("10.9.0.2:80")
	bad.Scheduler = "nosuch"
	if err := c.NewService(ctx, bad); !errors.Is(err, ErrNoScheduler) {
		t.Errorf("unknown scheduler: %v", err)
	}
	if err := c.NewDestination(ctx, svc, dst); err != nil {
		t.Fatal(err)
	}
	if err := c.NewDestination(ctx, svc, dst); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate destination: %v", err)
	}
	dst.Weight = 5
	dst.UpperThreshold, dst.LowerThreshold = 10, 2
	if err := c.UpdateDestination(ctx, svc, dst); err != nil {
		t.Fatal(err)
	}
	ds, err := c.Destinations(ctx, svc)
	if err != nil || len(ds) != 1 || ds[0].Weight != 5 || ds[0].UpperThreshold != 10 || ds[0].LowerThreshold != 2 {
		t.Errorf("after update: %+v, %v", ds, err)
	}
	dst.LowerThreshold = 20 // lower above upper: the kernel says ERANGE
	if err := c.UpdateDestination(ctx, svc, dst); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad thresholds: %v", err)
	}
	svc.Scheduler = "wrr"
	svc.Flags = FlagPersistent
	svc.Timeout = 42 * time.Second
	if err := c.UpdateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	got, err := c.Service(ctx, svc)
	if err != nil || got.Scheduler != "wrr" || got.Timeout != 42*time.Second || got.Flags&FlagPersistent == 0 {
		t.Errorf("after update: %+v, %v", got, err)
	}
	if err := c.ZeroService(ctx, svc); err != nil {
		t.Errorf("zero one: %v", err)
	}
	if err := c.Zero(ctx); err != nil {
		t.Errorf("zero all: %v", err)
	}
	if err := c.DeleteDestination(ctx, svc, dst); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteDestination(ctx, svc, dst); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete missing destination: %v", err)
	}
	if err := c.DeleteService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteService(ctx, svc); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete missing service: %v", err)
	}
	if err := c.NewDestination(ctx, svc, dst); !errors.Is(err, ErrNotFound) {
		t.Errorf("destination of missing service: %v", err)
	}
	var op *OpError
	if err := c.DeleteService(ctx, svc); !errors.As(err, &op) || op.Op != "del-service" || op.Service == nil {
		t.Errorf("OpError: %#v", err)
	}

	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head := strings.SplitN(ipvsadm(t, "-Ln"), "\n", 2)[0]; head != fmt.Sprintf("IP Virtual Server version %s (size=%d)", info.VersionString(), info.ConnTableSize) {
		t.Errorf("info %+v vs ipvsadm %q", info, head)
	}
}

func TestVMTimeouts(t *testing.T) {
	c := vmClient(t)
	ctx := context.Background()
	old, err := c.Timeouts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.SetTimeouts(context.Background(), old) })
	want := Timeouts{TCP: 1000 * time.Second, TCPFin: 130 * time.Second, UDP: 310 * time.Second}
	if err := c.SetTimeouts(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := c.Timeouts(ctx)
	if err != nil || got != want {
		t.Errorf("timeouts %+v, %v; want %+v", got, err, want)
	}
	if out := ipvsadm(t, "-L", "--timeout"); out != "Timeout (tcp tcpfin udp): 1000 130 310\n" {
		t.Errorf("ipvsadm --timeout: %q", out)
	}
	// Zero leaves a timeout unchanged.
	if err := c.SetTimeouts(ctx, Timeouts{UDP: 20 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Timeouts(ctx); err != nil || got.TCP != want.TCP || got.UDP != 20*time.Second {
		t.Errorf("partial set: %+v", got)
	}
}

func TestVMSyncDaemon(t *testing.T) {
	c := vmClient(t)
	ctx := context.Background()
	if out, err := exec.Command("ip", "link", "add", "ipvssync0", "type", "dummy").CombinedOutput(); err != nil {
		t.Fatalf("ip link add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", "ipvssync0").Run() })
	if out, err := exec.Command("ip", "link", "set", "ipvssync0", "up", "multicast", "on").CombinedOutput(); err != nil {
		t.Fatalf("ip link set: %v: %s", err, out)
	}
	want := []Daemon{
		{State: Master, Interface: "ipvssync0", SyncID: 7, MaxLen: 1400, Group: netip.MustParseAddr("239.1.2.3"), Port: 9000, TTL: 3},
		{State: Backup, Interface: "ipvssync0", SyncID: 8},
	}
	for _, d := range want {
		if err := c.StartDaemon(ctx, d); err != nil {
			t.Fatalf("start %v: %v", d.State, err)
		}
		t.Cleanup(func() { c.StopDaemon(context.Background(), d.State) })
	}
	if err := c.StartDaemon(ctx, want[0]); !errors.Is(err, ErrExists) {
		t.Errorf("second master: %v", err)
	}
	got, err := c.Daemons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("daemons: %+v", got)
	}
	for _, g := range got {
		w := want[0]
		if g.State == Backup {
			w = want[1]
		}
		if g.Interface != w.Interface || g.SyncID != w.SyncID || (w.MaxLen != 0 && g.MaxLen != w.MaxLen) ||
			(w.Group.IsValid() && g.Group != w.Group) || (w.Port != 0 && g.Port != w.Port) || (w.TTL != 0 && g.TTL != w.TTL) {
			t.Errorf("daemon %+v, want %+v", g, w)
		}
	}
	t.Logf("ipvsadm --daemon:\n%s", ipvsadm(t, "-L", "--daemon"))
	for _, d := range want {
		if err := c.StopDaemon(ctx, d.State); err != nil {
			t.Errorf("stop %v: %v", d.State, err)
		}
	}
	if got, err := c.Daemons(ctx); err != nil || len(got) != 0 {
		t.Errorf("after stop: %+v, %v", got, err)
	}
}

func TestVMNetNS(t *testing.T) {
	root := vmClient(t)
	ns := netns.New(t)
	ctx := context.Background()
	c, err := Dial(ctx, &Config{NetNS: ns.Path()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	svc := Service{Protocol: TCP, Addr: netip.MustParseAddrPort("10.77.0.1:80"), Scheduler: "rr"}
	if err := c.NewService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if got, err := root.Services(ctx); err != nil || len(got) != 0 {
		t.Errorf("root namespace sees %v, %v", got, err)
	}
	out, err := ns.Command(ctx, "ipvsadm", "-S", "-n").Output()
	if err != nil || string(out) != "-A -t 10.77.0.1:80 -s rr\n" {
		t.Errorf("ipvsadm in namespace: %q, %v", out, err)
	}
	c2, err := Dial(ctx, &Config{NetNS: "/proc/self/fd/" + strconv.Itoa(ns.FD())})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if got, err := c2.Services(ctx); err != nil || len(got) != 1 {
		t.Errorf("second client (namespace by /proc fd path) sees %v, %v", got, err)
	}
}

func TestVMConcurrentUse(t *testing.T) {
	c := vmClient(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				s := Service{Protocol: TCP, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 50, byte(g), byte(i)}), 80), Scheduler: "rr"}
				if err := c.NewService(ctx, s); err != nil {
					errs <- err
					return
				}
				if err := c.NewDestination(ctx, s, Destination{Addr: netip.MustParseAddrPort("10.60.0.1:80"), Forward: Masquerade, Weight: 1}); err != nil {
					errs <- err
					return
				}
				if i%3 == 0 {
					if _, err := c.Dump(ctx); err != nil {
						errs <- err
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	svcs, err := c.Dump(ctx)
	if err != nil || len(svcs) != 40 {
		t.Fatalf("dump: %d services, %v", len(svcs), err)
	}
	for _, s := range svcs {
		if len(s.Destinations) != 1 {
			t.Errorf("%v has %d destinations", s, len(s.Destinations))
		}
	}
}

// TestVMApplyCountsRequests checks on the real kernel that a one-weight
// change in 1,000 services is one netlink request, and a repeat is none.
func TestVMApplyCountsRequests(t *testing.T) {
	c := vmClient(t)
	ctx := context.Background()
	want := bigState(1000)
	a := NewApplier(c)
	if _, err := a.Apply(ctx, want, nil); err != nil {
		t.Fatal(err)
	}
	next := cloneState(want)
	next[321].Destinations[3].Weight = 9
	before := c.requestsSent()
	ch, err := a.Apply(ctx, next, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := c.requestsSent() - before; n != 1 || ch.Len() != 1 || ch.Ops[0].Kind != OpUpdateDestination {
		t.Errorf("one weight change sent %d requests: %v", n, ch.Ops)
	}
	before = c.requestsSent()
	if ch, err := a.Apply(ctx, next, nil); err != nil || ch.Len() != 0 || c.requestsSent() != before {
		t.Errorf("repeat: %v, %v, %d requests", ch.Ops, err, c.requestsSent()-before)
	}
	// The kernel agrees, and a fresh full Apply finds nothing to do.
	got, err := c.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := configString(got), configString(next); a != b {
		t.Error("kernel state differs from desired after Applier")
	}
	if ch, err := c.Apply(ctx, next, nil); err != nil || ch.Len() != 0 {
		t.Errorf("full Apply after Applier: %v, %v", ch.Ops, err)
	}
}

// crowdedState is bigState(n) with extra more destinations, in
// 172.net.0.0/16, on service i.
func crowdedState(n, i, extra int, net byte) []Service {
	state := bigState(n)
	for j := 0; j < extra; j++ {
		state[i].Destinations = append(state[i].Destinations, Destination{
			Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{172, net, byte(j >> 8), byte(j)}), 80), Forward: Masquerade, Weight: 1})
	}
	return state
}

// TestVMDumpManyDestinations makes one service's destination dump span
// several netlink messages while other dumps are pipelined behind it.
func TestVMDumpManyDestinations(t *testing.T) {
	c := vmClient(t)
	ctx := context.Background()
	state := crowdedState(50, 7, 300, 20)
	if _, err := c.Apply(ctx, state, nil); err != nil {
		t.Fatal(err)
	}
	got, err := c.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := configString(got), configString(state); a != b {
		t.Error("dump differs from the applied state")
	}
}

// TestVMDumpTruncatedReadsRepeat reads with receive slots far smaller than
// the kernel's dump parts: every part is truncated, and the client must
// grow its slots and repeat each dump, returning what a normal client does.
func TestVMDumpTruncatedReadsRepeat(t *testing.T) {
	c := vmClient(t)
	ctx := context.Background()
	state := crowdedState(300, 3, 40, 21)
	if _, err := c.Apply(ctx, state, nil); err != nil {
		t.Fatal(err)
	}
	want, err := c.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	small, err := dialConnSlot(ctx, 0, 512)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { small.close() })
	small2, err := dialConnSlot(ctx, 0, 512)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { small2.close() })
	sc := &Client{c: small, dumpers: []*conn{small2}}
	got, err := sc.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if small.slot != maxSlotBytes || small2.slot != maxSlotBytes {
		t.Errorf("slots stayed at %d and %d bytes", small.slot, small2.slot)
	}
	if a, b := configString(got), configString(want); a != b {
		t.Errorf("dump with truncated reads differs:\n%s\nwant\n%s", a, b)
	}
	if a, b := configString(got), configString(state); a != b {
		t.Error("dump differs from the applied state")
	}
}

// TestVMDumpDestinationsAreSeparate checks that services' destination
// slices, which share backing arrays, cannot grow into each other.
func TestVMDumpDestinationsAreSeparate(t *testing.T) {
	c := vmClient(t)
	ctx := context.Background()
	state := bigState(600) // more than one chunk
	if _, err := c.Apply(ctx, state, nil); err != nil {
		t.Fatal(err)
	}
	got, err := c.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := configString(got)
	extra := Destination{Addr: netip.MustParseAddrPort("192.0.2.1:1"), Weight: 7}
	for i := range got {
		got[i].Destinations = append(got[i].Destinations, extra)
	}
	for i := range got {
		got[i].Destinations = got[i].Destinations[:len(got[i].Destinations)-1]
	}
	if after := configString(got); after != before {
		t.Error("appending to one service's destinations changed another's")
	}
}

// TestVMConcurrentDumpMatchesSequential dumps with several sockets at once
// (as Dial sets up on a machine with several CPUs) and with one, and
// expects the same services, destinations and order.
func TestVMConcurrentDumpMatchesSequential(t *testing.T) {
	c := vmClient(t)
	ctx := context.Background()
	state := crowdedState(5*dumpChunk+17, dumpChunk+3, 120, 22)
	state[2*dumpChunk].Destinations = nil
	if _, err := c.Apply(ctx, state, nil); err != nil {
		t.Fatal(err)
	}
	seq, err := dial(ctx, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer seq.Close()
	par, err := dial(ctx, 0, maxDumpers)
	if err != nil {
		t.Fatal(err)
	}
	defer par.Close()
	if len(par.dumpers) != maxDumpers {
		t.Fatalf("%d dump sockets, want %d", len(par.dumpers), maxDumpers)
	}
	want, err := seq.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		got, err := par.Dump(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Stats move with traffic only, and there is none.
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("round %d: concurrent dump differs:\n%s\nsequential:\n%s", round, configString(got), configString(want))
		}
	}
	if a, b := configString(want), configString(state); a != b {
		t.Error("dump differs from the applied state")
	}
}

// TestVMDoReportsEachRefusal runs 1,000 operations in one Do (several
// pipelined batches, each asking an acknowledgement of its last request
// only) with requests the kernel refuses in the middle of a batch, at a
// batch's end and as the very last: each refusal is reported as that
// operation, and every other operation is applied.
func TestVMDoReportsEachRefusal(t *testing.T) {
	c := vmClient(t)
	ctx := context.Background()
	var ops []Op
	for i := 0; i < 250; i++ {
		s := Service{Protocol: TCP, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 8, byte(i >> 8), byte(i)}), 80), Scheduler: "wrr"}
		ops = append(ops, Op{Kind: OpNewService, Service: s})
		for j := 1; j <= 3; j++ {
			d := Destination{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 9, 0, byte(j)}), 80), Forward: Masquerade, Weight: 1}
			ops = append(ops, Op{Kind: OpNewDestination, Service: s, Destination: d})
		}
	}
	// The destination before again (EEXIST) at positions 100 and 300,
	// in the middle of a batch, and 255, the last request of the first
	// batch (the window is 256), the one that asks an acknowledgement.
	var want []string // the refused operations, as OpError prints them
	for _, k := range []int{100, 255, 300} {
		dup := ops[k-1]
		if dup.Kind != OpNewDestination {
			t.Fatalf("op %d is %v", k-1, dup)
		}
		ops = slices.Insert(ops, k, dup)
		want = append(want, fmt.Sprintf("ipvs: new-dest %s -> %s", dup.Service.Key(), dup.Destination.Addr))
	}
	// A destination of a service that does not exist, as the last.
	ghost := Service{Protocol: TCP, Addr: netip.MustParseAddrPort("10.7.0.1:80"), Scheduler: "wrr"}
	ops = append(ops, Op{Kind: OpNewDestination, Service: ghost, Destination: ops[1].Destination})
	want = append(want, fmt.Sprintf("ipvs: new-dest %s -> 10.9.0.1:80", ghost.Key()))
	err := c.Do(ctx, ops)
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var op *OpError
		if !errors.As(e, &op) {
			t.Fatalf("not an OpError: %v", e)
		}
		msg := op.Error()
		got = append(got, msg[:strings.LastIndex(msg, ":")])
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("refusals:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	svcs, err := c.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range svcs {
		n += 1 + len(s.Destinations)
	}
	if n != len(ops)-len(want) {
		t.Errorf("%d services and destinations in the kernel, want %d", n, len(ops)-len(want))
	}
}
