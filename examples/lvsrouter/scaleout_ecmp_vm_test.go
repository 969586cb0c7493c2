//go:build vm

package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/fwmark"
	"github.com/lvskit/lvskit/internal/frr"
	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/ipvs"
)

// upstreamBGP is the FRR side: one eBGP neighbour per director, ECMP over
// up to 8 paths, timers 3/9 s: a silent director is dropped in 9 s (a
// killed one at once: its kernel closes the session). A 3 s hold time
// expired on every session at once when the host starved the TCG guest
// for a few seconds, which withdrew the VIP everywhere.
func upstreamBGP(n int) string {
	s := `frr defaults traditional
log stdout
log timestamp precision 3
debug bgp neighbor-events
debug bgp updates in
router bgp 65000
 bgp router-id 10.0.0.1
 no bgp ebgp-requires-policy
 bgp bestpath as-path multipath-relax
`
	for i := range n {
		s += fmt.Sprintf(" neighbor %v remote-as 65001\n neighbor %v timers 3 9\n neighbor %v timers connect 1\n", soDirector(i), soDirector(i), soDirector(i))
	}
	return s + " address-family ipv4 unicast\n  maximum-paths 8\n exit-address-family\n"
}

// directorBGP is lvsrouter's --bgp file on director i.
func directorBGP(i int) string {
	return fmt.Sprintf(`local_as 65001
router_id %v
neighbor %v {
    remote_as 65000
    hold_time 9
    keepalive_interval 3
    connect_retry 1
}
announce all
drain_time 2
vip_interface lo
sloppy_tcp
`, soDirector(i), soRouter)
}

// rsCheck is each real server's health check. Its timeout is generous:
// the single vCPU of the guest, saturated by the flows, delays a check's
// SYN-ACK by seconds at times, and a check failing on one director only
// changes that director's table (see TestVMScaleOut's log).
func rsCheck() string {
	return "        TCP_CHECK {\n            connect_timeout " + os.Getenv("LVSKIT_SCALEOUT_CHECK_TIMEOUT") + "\n        }\n"
}

// scaleOutLab is the scenario's topology in the guest.
type scaleOutLab struct {
	t       testing.TB
	up      *frr.Router
	fib     *fibWatch
	client  *netns.NS
	dirs    []*director
	reals   []*realServer
	realNS  []*netns.NS
	vipPref netip.Prefix
}

func newScaleOutLab(t testing.TB, nDirs, nReals int) *scaleOutLab {
	t.Helper()
	needSpeaker(t)
	l := &scaleOutLab{t: t, vipPref: netip.PrefixFrom(soVIP, 32)}
	lan := netns.NewSwitch(t)
	router, client := netns.New(t), netns.New(t)
	lan.Connect(router, "eth0", netip.PrefixFrom(soRouter, 24))
	netns.Veth(t, router, "cl0", client, "eth0")
	router.AddAddr("cl0", netip.PrefixFrom(soClientGW, 24))
	client.AddAddr("eth0", netip.PrefixFrom(soClient, 24))
	l.client = client
	run := func(ns *netns.NS, args ...string) {
		t.Helper()
		if out, err := ns.Command(t.Context(), args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	run(router, "sysctl", "-w", "net.ipv4.ip_forward=1", "net.ipv4.fib_multipath_hash_policy=1")
	run(client, "ip", "route", "add", "default", "via", soClientGW.String())
	guestLikeDeployment(t, client)
	var reals []string
	for i := range nReals {
		ns := netns.New(t)
		lan.Connect(ns, "eth0", netip.PrefixFrom(soReal(i), 24))
		run(ns, "ip", "route", "add", "default", "via", soRouter.String())
		rs := fwmark.RealServer{Method: fwmark.DRSysctl, VIPs: []netip.Addr{soVIP}, Interface: "eth0"}
		if _, err := rs.Apply(t.Context(), ns.Path()); err != nil {
			t.Fatalf("real server %d DR setup: %v", i, err)
		}
		l.realNS = append(l.realNS, ns)
		l.reals = append(l.reals, startRealServer(t, ns, "rs"+strconv.Itoa(i)))
		reals = append(reals, soReal(i).String())
	}
	l.fib = watchFIB(t, router, l.vipPref)
	l.up = frr.Start(t, router, upstreamBGP(nDirs))
	conf := mhConfig(rsCheck(), reals...)
	for i := range nDirs {
		ns := netns.New(t)
		lan.Connect(ns, "eth0", netip.PrefixFrom(soDirector(i), 24))
		d := newDirector(t, ns, soDirector(i), conf)
		bgp := filepath.Join(d.dir, "bgp.conf")
		if err := os.WriteFile(bgp, []byte(directorBGP(i)), 0o644); err != nil {
			t.Fatal(err)
		}
		d.args = []string{"--bgp", bgp}
		l.dirs = append(l.dirs, d)
	}
	return l
}

// guestLikeDeployment removes two differences between the single guest
// and the README's deployment (client, router and directors on machines
// of their own), each measured by TestVMScaleOutDrain:
//
//   - Backlog: every veth hands its packets to the one per-CPU backlog
//     queue (netif_rx), shared by all namespaces of the guest, which drops
//     past net.core.netdev_max_backlog (1,000). At 1,000 flows it dropped
//     about 3,800 packets in each 3.5 s step, steady state included
//     (/proc/net/softnet_stat): the flows' stalls of 3-7 s were their
//     retransmission back-off. A machine of the deployment has its own
//     queue per NIC and CPU. $LVSKIT_SCALEOUT_BACKLOG (default 10000; 1000
//     is the kernel's default) sets it for the guest.
//   - Hash: the client's TCP sockets put their random txhash on their
//     packets as an L4 hash, which survives the veth into the router's
//     namespace, where fib_multipath_hash (policy 1) takes it as it is;
//     each retransmission timeout re-draws it (TcpTimeoutRehash), so a
//     flow changed director at every RTO. While a real server's health
//     differed between directors, a flow that moved so onto the director
//     without its real server was scheduled there to another one, which
//     reset it: the "2-6 flows reset" of earlier runs (1 and 25 in the two
//     check steps with both settings back at the kernel's defaults, each
//     with connection entries on two directors pointing at different real
//     servers; 0 with the settings below). A router behind a wire hashes
//     the 5-tuple and keeps a flow on its director; net.core.txrehash=0 in
//     the client keeps the hash ($LVSKIT_SCALEOUT_TXREHASH=1 restores it).
func guestLikeDeployment(t testing.TB, client *netns.NS) {
	t.Helper()
	const key = "/proc/sys/net/core/netdev_max_backlog"
	if old, err := os.ReadFile(key); err == nil {
		want := strconv.Itoa(envInt("LVSKIT_SCALEOUT_BACKLOG", 10000))
		if err := os.WriteFile(key, []byte(want), 0o644); err != nil {
			t.Fatalf("netdev_max_backlog: %v", err)
		}
		t.Cleanup(func() { os.WriteFile(key, old, 0o644) })
	} else {
		t.Fatalf("netdev_max_backlog: %v", err)
	}
	rehash := "0"
	if os.Getenv("LVSKIT_SCALEOUT_TXREHASH") == "1" {
		rehash = "1"
	}
	if out, err := client.Command(t.Context(), "sysctl", "-w", "net.core.txrehash="+rehash).CombinedOutput(); err != nil {
		t.Fatalf("client: net.core.txrehash: %v %s", err, out)
	}
}

// waitRoute waits until FRR's route to the VIP goes exactly through the
// given directors, and returns when it saw that.
func (l *scaleOutLab) waitRoute(within time.Duration, dirs ...int) time.Time {
	l.t.Helper()
	var want []netip.Addr
	for _, i := range dirs {
		want = append(want, soDirector(i))
	}
	ctx, cancel := contextWithTimeout(l.t, within)
	defer cancel()
	got, at, err := l.up.WaitNextHops(ctx, l.vipPref, want)
	if err != nil {
		out, _ := l.up.VTY(l.t.Context(), "show bgp summary")
		l.t.Fatalf("FRR: %v (last %v)\n%s", err, got, out)
	}
	return at
}

// startAndMeasure starts director 0 alone and measures new connections
// per second through it (8 clients, 3 s), then starts directors 1 and 2,
// lets them settle and measures again through all three.
func (l *scaleOutLab) startAndMeasure(settle time.Duration) (rate1 float64, fail1 int, rate3 float64, fail3 int) {
	l.t.Helper()
	all := []netip.Addr{soReal(0), soReal(1), soReal(2)}
	l.dirs[0].start()
	l.dirs[0].waitService(all...)
	l.waitRoute(60*time.Second, 0)
	rate1, fail1 = connRate(l.t, l.client, 8, 3*time.Second)
	l.dirs[1].start()
	l.dirs[2].start()
	for _, d := range l.dirs {
		d.waitService(all...)
	}
	l.waitRoute(60*time.Second, 0, 1, 2)
	time.Sleep(settle)
	rate3, fail3 = connRate(l.t, l.client, 8, 3*time.Second)
	return rate1, fail1, rate3, fail3
}

// checkRoute fails the test unless FRR's route lists exactly dirs now.
func (l *scaleOutLab) checkRoute(step string, dirs ...int) {
	l.t.Helper()
	var want []netip.Addr
	for _, i := range dirs {
		want = append(want, soDirector(i))
	}
	got, err := l.up.NextHops(l.t.Context(), l.vipPref)
	if err != nil {
		l.t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(sortedAddrs(want...)) {
		l.t.Errorf("%s: FRR's route to the VIP via %v, want exactly the healthy directors %v", step, got, want)
	}
}

// TestVMScaleOut is issue #17's scenario in the guest: FRR (zebra + bgpd,
// maximum-paths 8, fib_multipath_hash_policy=1) in front of three
// lvsrouter directors (--bgp, DR, mh with mh-port, sloppy_tcp) in front of
// three real servers with the VIP on lo (fwmark's DR sysctl method); a
// client holds long-lived connections through the VIP, each sending a
// request every 100 ms and checking that the same real server answers.
// Steps: a director SIGKILLed, one stopped with SIGTERM, both joining
// again, a reload that changes nothing, a real server's check failing on
// one director only (measured, not asserted), a real server failing.
// After each step FRR's route lists exactly the healthy directors. The flows, the
// interval and the settle time are $LVSKIT_SCALEOUT_FLOWS (default 1000),
// ..._INTERVAL (100ms) and ..._SETTLE (3s). The guest is set up as
// separate machines would behave (guestLikeDeployment: a backlog queue
// that does not drop, a client hash that an RTO does not re-draw); the
// SIGTERM step's longest stall is logged next to the steady state's, which
// bounds it: at 1,000 flows the one-vCPU guest answers about 3,000 of the
// 10,000 requests per second asked, so no flow can get its answers 200 ms
// apart (TestVMScaleOutDrain has the figures per load).
func TestVMScaleOut(t *testing.T) {
	testenv.NeedVM(t)
	nFlows := envInt("LVSKIT_SCALEOUT_FLOWS", 1000)
	interval := envDuration("LVSKIT_SCALEOUT_INTERVAL", 100*time.Millisecond)
	settle := envDuration("LVSKIT_SCALEOUT_SETTLE", 3*time.Second)
	if os.Getenv("LVSKIT_SCALEOUT_CHECK_TIMEOUT") == "" {
		t.Setenv("LVSKIT_SCALEOUT_CHECK_TIMEOUT", "5")
	}
	l := newScaleOutLab(t, 3, 3)
	allReals := []netip.Addr{soReal(0), soReal(1), soReal(2)}

	// One director, then three: new connections per second through each.
	rate1, fail1, rate3, fail3 := l.startAndMeasure(settle)
	t.Logf("new connections: %.0f/s through 1 director (%d failed), %.0f/s through 3 (%d failed): ratio %.2f (one vCPU runs all of them)",
		rate1, fail1, rate3, fail3, rate3/rate1)
	if fail1+fail3 > 0 {
		t.Errorf("%d new connections failed", fail1+fail3)
	}
	for _, d := range l.dirs {
		out, err := d.ns.Command(t.Context(), "cat", "/proc/sys/net/ipv4/vs/sloppy_tcp").CombinedOutput()
		if err != nil || string(out) != "1\n" {
			t.Errorf("director %v: sloppy_tcp %q, %v", d.addr, out, err)
		}
	}
	keys := func() []string {
		var ks []string
		for _, d := range l.dirs {
			if s := d.service(); s != nil {
				ks = append(ks, ipvs.MaglevTableKey(s))
			}
		}
		return ks
	}
	if ks := keys(); len(ks) != 3 || ks[0] != ks[1] || ks[1] != ks[2] {
		t.Errorf("directors' mh inputs differ: %q", ks)
	}

	start := time.Now()
	fs := openFlows(t, l.client, nFlows, interval)
	t.Logf("%d flows open in %v, by real server %v", len(fs.all), time.Since(start).Round(time.Millisecond), fs.servers())
	time.Sleep(settle)
	step := func(name string, wantBroken int, fn func()) stepStats {
		t.Helper()
		was := fs.mark()
		req := fs.requests.Load()
		t0 := time.Now()
		fn()
		time.Sleep(settle)
		s := fs.stats(was)
		el := time.Since(t0)
		t.Logf("%s: %v; %d requests in %v (%.0f/s)", name, s, fs.requests.Load()-req, el.Round(time.Millisecond),
			float64(fs.requests.Load()-req)/el.Seconds())
		if wantBroken >= 0 && s.broken != wantBroken {
			t.Errorf("%s: %d flows broken, want %d", name, s.broken, wantBroken)
		}
		return s
	}
	steady := step("steady", 0, func() {})

	step("SIGKILL director 0", 0, func() {
		t0 := time.Now()
		l.dirs[0].proc.Signal(syscall.SIGKILL)
		fib := l.fib.waitChange(t, t0, 30*time.Second, soDirector(1), soDirector(2))
		at := l.waitRoute(30*time.Second, 1, 2)
		t.Logf("kill -9 -> FRR's kernel route without director 0: %v (vtysh saw it after %v)", fib.Round(time.Millisecond), at.Sub(t0).Round(time.Millisecond))
	})
	l.checkRoute("after SIGKILL", 1, 2)

	term := step("SIGTERM director 1", 0, func() {
		t0 := time.Now()
		l.dirs[1].proc.Signal(syscall.SIGTERM)
		fib := l.fib.waitChange(t, t0, 30*time.Second, soDirector(2))
		at := l.waitRoute(30*time.Second, 2)
		t.Logf("SIGTERM -> FRR's kernel route without director 1: %v (vtysh saw it after %v)", fib.Round(time.Millisecond), at.Sub(t0).Round(time.Millisecond))
		select {
		case <-l.dirs[1].proc.Done():
		case <-time.After(30 * time.Second):
			t.Error("director 1 did not exit within 30 s of SIGTERM")
		}
		if os.Getenv("LVSKIT_SCALEOUT_LOGS") != "" {
			t.Logf("SIGTERM at %s; director 1:\n%s\nFRR:\n%s", t0.Format("15:04:05.000"), l.dirs[1].proc.Output(), l.up.Output())
		}
	})
	l.checkRoute("after SIGTERM", 2)
	// The guest's own stall (steady, no event) bounds what a SIGTERM can
	// show here: TestVMScaleOutDrain splits it up.
	goal := "not met"
	if term.maxStall < 200*time.Millisecond {
		goal = "met"
	}
	t.Logf("longest stall: %v in the steady state, %v around the SIGTERM (goal < 200 ms: %s, at %d flows)",
		steady.maxStall.Round(time.Millisecond), term.maxStall.Round(time.Millisecond), goal, nFlows)

	step("director 1 joins", 0, func() {
		t0 := time.Now()
		l.dirs[1].start()
		fib := l.fib.waitChange(t, t0, 60*time.Second, soDirector(1), soDirector(2))
		l.waitRoute(60*time.Second, 1, 2)
		t.Logf("start -> FRR's kernel route through director 1: %v", fib.Round(time.Millisecond))
	})
	l.checkRoute("after director 1 joined", 1, 2)
	step("director 0 joins", 0, func() {
		t0 := time.Now()
		l.dirs[0].start()
		fib := l.fib.waitChange(t, t0, 60*time.Second, soDirector(0), soDirector(1), soDirector(2))
		l.waitRoute(60*time.Second, 0, 1, 2)
		t.Logf("start -> FRR's kernel route through director 0: %v", fib.Round(time.Millisecond))
	})
	l.checkRoute("after director 0 joined", 0, 1, 2)
	if ks := keys(); len(ks) != 3 || ks[0] != ks[1] || ks[1] != ks[2] {
		t.Errorf("after the joins, the directors' mh inputs differ: %q", ks)
	}

	step("reload of director 2 that changes nothing", 0, func() {
		before := keys()
		u0, err := l.up.UpdatesReceived(t.Context(), soDirector(2))
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		l.dirs[2].reload(mhConfig(rsCheck(), soReal(0).String(), soReal(1).String(), soReal(2).String()))
		// The route never loses director 2 meanwhile.
		end := time.Now().Add(settle)
		for time.Now().Before(end) {
			l.checkRoute("during the reload", 0, 1, 2)
		}
		u1, err := l.up.UpdatesReceived(t.Context(), soDirector(2))
		if err != nil {
			t.Fatal(err)
		}
		if u1 != u0 {
			t.Errorf("the reload sent %d UPDATEs to FRR, want none", u1-u0)
		}
		l.fib.mu.Lock()
		for _, ev := range l.fib.events {
			if ev.at.After(t0) {
				t.Errorf("the reload changed the kernel route at the upstream: %v", ev.hops)
			}
		}
		l.fib.mu.Unlock()
		if after := keys(); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("the reload changed the IPVS state: %q -> %q", before, after)
		}
	})

	// A real server's health differs between directors for a while: its
	// check connections from director 0 (source: the director's own
	// address; forwarded flows keep the client's) are reset, so director 0
	// alone removes it, then puts it back. Its flows through director 0
	// have their packets dropped meanwhile (the kernel keeps their
	// connection entries; expire_nodest_conn is 0), so they stall and
	// resume; the step reports how many broke or moved. Real server 2 (the
	// highest address) comes back at the head of the list: one addition;
	// real server 0 comes back at the tail: MaglevOrder re-adds real
	// servers 2 and 1 before it, which is what a re-add costs their flows.
	for _, down := range []int{2, 0} {
		var up []netip.Addr
		for i, a := range allReals {
			if i != down {
				up = append(up, a)
			}
		}
		nftRule := fmt.Sprintf("table ip scaleout_test {\n chain out {\n  type filter hook output priority 0;\n  ip saddr %v ip daddr %v tcp dport 80 reject with tcp reset\n }\n}\n", soDirector(0), soReal(down))
		var ops string
		name := fmt.Sprintf("real server %d's check fails on director 0 only", down)
		brokenBefore := fs.brokenSet()
		hs := step(name, -1, func() {
			cmd := l.dirs[0].ns.Command(t.Context(), "nft", "-f", "-")
			cmd.Stdin = strings.NewReader(nftRule)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("nft: %v %s", err, out)
			}
			t0 := time.Now()
			l.dirs[0].waitService(up...)
			removed := time.Now()
			time.Sleep(3 * time.Second)
			logAt := len(l.dirs[0].proc.Output())
			if out, err := l.dirs[0].ns.Command(t.Context(), "nft", "delete", "table", "ip", "scaleout_test").CombinedOutput(); err != nil {
				t.Fatalf("nft: %v %s", err, out)
			}
			l.dirs[0].waitService(allReals...)
			// The router logs its operations just after the kernel took them.
			for end := time.Now().Add(5 * time.Second); ops == "" && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
				for _, line := range strings.Split(l.dirs[0].proc.Output()[logAt:], "\n") {
					if i := strings.Index(line, "msg=ipvs changes="); i >= 0 {
						ops = line[i+len("msg=ipvs "):]
					}
				}
			}
			t.Logf("%s: it left director 0's table %v after its checks began to fail and came back %v later (%s); the other directors kept it",
				name, removed.Sub(t0).Round(time.Millisecond), time.Since(removed).Round(time.Millisecond), ops)
			for _, d := range l.dirs[1:] {
				d.waitService(allReals...)
			}
		})
		if hs.broken > 0 {
			t.Logf("%s: health differing between directors broke %d flows (%d answered by another server; by server %v)", name, hs.broken, hs.moved, hs.byServer)
			// Where each broken flow's connection entries are: a flow with
			// an entry on two directors changed director (an RTO re-drew
			// its hash) and was scheduled again by a table without its
			// real server.
			for f := range fs.brokenSet() {
				if brokenBefore[f] {
					continue
				}
				port := uint16(f.c.LocalAddr().(*net.TCPAddr).Port)
				var where []string
				for i, d := range l.dirs {
					if rs, ok := ipvsConns(t, d.ns)[port]; ok {
						where = append(where, fmt.Sprintf("director %d -> %v", i, rs))
					}
				}
				t.Logf("%s: broken flow :%d of %s (%v): entries %v", name, port, f.server, f.broken, where)
			}
		}
		if ks := keys(); len(ks) != 3 || ks[0] != ks[1] || ks[1] != ks[2] {
			t.Errorf("after real server %d came back on director 0, the directors' mh inputs differ: %q", down, ks)
		}
	}

	onRS1 := fs.servers()["rs1"]
	s := step("real server 1 fails", -1, func() {
		l.reals[1].fail()
		for _, d := range l.dirs {
			d.waitService(soReal(0), soReal(2))
		}
		// Each of its flows learns at its next request, which a stall
		// elsewhere may hold back: wait (bounded) until none is left.
		for end := time.Now().Add(flowTimeout + 5*time.Second); fs.servers()["rs1"] > 0 && time.Now().Before(end); {
			time.Sleep(100 * time.Millisecond)
		}
	})
	if s.broken != onRS1 || s.byServer["rs1"] != onRS1 {
		t.Errorf("real server 1 failed: %d flows broken (%v), want exactly its %d", s.broken, s.byServer, onRS1)
	}
	if s.moved > 0 {
		t.Errorf("%d flows were answered by another real server", s.moved)
	}
	t.Logf("real server 1 failed: its %d flows broke, the other %d stayed", onRS1, s.healthy)
	l.checkRoute("after the real server failed", 0, 1, 2)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func contextWithTimeout(t testing.TB, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}

// BenchmarkVMScaleOut measures in one guest, with FRR in front and three
// real servers behind: new connections per second (connect, one request,
// its answer, close; 8 clients) through one director and through three,
// and the time from kill -9 of a director to the kernel route at FRR
// without it. The guest has one vCPU running every namespace, so three
// directors cannot be faster than one here; the ratio shows what the
// ECMP and the extra directors cost, not what they gain on real machines.
func BenchmarkVMScaleOut(b *testing.B) {
	testenv.NeedVM(b)
	if os.Getenv("LVSKIT_SCALEOUT_CHECK_TIMEOUT") == "" {
		b.Setenv("LVSKIT_SCALEOUT_CHECK_TIMEOUT", "5")
	}
	l := newScaleOutLab(b, 3, 3)
	var rate1, rate3, kill float64
	for i := 0; i < b.N; i++ {
		r1, f1, r3, f3 := l.startAndMeasure(3 * time.Second)
		if f1+f3 > 0 {
			b.Errorf("%d new connections failed", f1+f3)
		}
		t0 := time.Now()
		l.dirs[0].proc.Signal(syscall.SIGKILL)
		k := l.fib.waitChange(b, t0, 30*time.Second, soDirector(1), soDirector(2))
		l.waitRoute(30*time.Second, 1, 2)
		for _, d := range l.dirs[1:] {
			d.proc.Signal(syscall.SIGTERM)
			<-d.proc.Done()
		}
		l.waitRoute(30 * time.Second)
		rate1 += r1
		rate3 += r3
		kill += float64(k.Milliseconds())
	}
	n := float64(b.N)
	b.ReportMetric(rate1/n, "conn/s-1-director")
	b.ReportMetric(rate3/n, "conn/s-3-directors")
	b.ReportMetric(rate3/rate1, "ratio-3/1")
	b.ReportMetric(kill/n, "ms-kill9-to-route")
}
