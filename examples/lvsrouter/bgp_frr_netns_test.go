//go:build netns

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/internal/frr"
	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/ipvs"
)

// The host kernel has no IPVS, so these tests run lvsrouter's Router with
// an in-memory IPVS (its quorum decided by real MISC_CHECKs on flag files)
// and the real GoBGP speaker (lvsrouter-bgp), in a helper process started
// inside a director namespace (a speaker's sockets follow the process's
// namespace, not a goroutine's). FRR (zebra + bgpd) is the upstream router
// in its own namespace; what it installs is read with vtysh.

// frrNS is the upstream router (internal/frr: zebra, bgpd and, for a
// "neighbor ... bfd" configuration, bfdd) with the calls these tests make,
// each failing the test on an error.
type frrNS struct{ *frr.Router }

func startFRR(t *testing.T, ns *netns.NS, bgpdConf string, bgpdArgs ...string) *frrNS {
	t.Helper()
	return &frrNS{frr.Start(t, ns, bgpdConf, bgpdArgs...)}
}

func (f *frrNS) vtysh(t *testing.T, cmd string) string {
	t.Helper()
	out, err := f.VTY(t.Context(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// nexthops returns the next hops of FRR's selected BGP route for a prefix,
// empty when there is none.
func (f *frrNS) nexthops(t *testing.T, p netip.Prefix) []string {
	t.Helper()
	hops, err := f.NextHops(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, h := range hops {
		s = append(s, h.String())
	}
	return s
}

func (f *frrNS) neighbor(t *testing.T, n string) frr.Neighbor {
	t.Helper()
	nb, err := f.Neighbor(t.Context(), netip.MustParseAddr(n))
	if err != nil {
		t.Fatal(err)
	}
	return nb
}

// updatesFrom returns how many UPDATEs FRR received from a neighbour.
func (f *frrNS) updatesFrom(t *testing.T, n string) int {
	t.Helper()
	return f.neighbor(t, n).MessageStats.UpdatesRecv
}

// established returns the neighbours whose BGP session is established.
func (f *frrNS) established(t *testing.T) []netip.Addr {
	t.Helper()
	up, err := f.Established(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return up
}

// waitRoute polls FRR until the prefix's next hops are want (nil: no route)
// and returns when that was first seen.
func (f *frrNS) waitRoute(t *testing.T, p netip.Prefix, want []string, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := f.nexthops(t, p)
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("FRR: %s via %v, want %v", p, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const upstreamConf = `frr defaults traditional
hostname upstream
log stdout
!
router bgp 65000
 bgp router-id 10.0.1.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp bestpath as-path multipath-relax
 neighbor 10.0.1.1 remote-as 65001
 neighbor 10.0.1.1 timers 3 9
 neighbor 10.0.1.1 timers connect 1
 neighbor fd00:1::1 remote-as 65001
 neighbor fd00:1::1 timers 3 9
 neighbor fd00:1::1 timers connect 1
 address-family ipv4 unicast
  maximum-paths 8
  no neighbor fd00:1::1 activate
 exit-address-family
 address-family ipv6 unicast
  neighbor fd00:1::1 activate
  maximum-paths 8
 exit-address-family
!
`

// TestBGPNetnsFRR: the director's GoBGP peers with FRR over IPv4
// and IPv6; FRR installs each VIP's /32 and /128 via the director while
// its service has quorum, removes it when the service loses quorum (its
// real server's check fails) and installs it again on recovery; on
// SIGTERM the routes are gone from FRR, with the sessions still up,
// before lvsrouter removes any IPVS service, and the process exits after.
func TestBGPNetnsFRR(t *testing.T) {
	d, u := netns.New(t), netns.New(t)
	// No duplicate address detection: the IPv6 session starts at once
	// (the veth takes the namespace's default when it is made).
	for _, ns := range []*netns.NS{d, u} {
		nsRun(t, ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	}
	netns.Veth(t, d, "d0", u, "u0")
	d.AddAddr("d0", netip.MustParsePrefix("10.0.1.1/24"), netip.MustParsePrefix("fd00:1::1/64"))
	u.AddAddr("u0", netip.MustParsePrefix("10.0.1.2/24"), netip.MustParsePrefix("fd00:1::2/64"))
	d.LinkUp("lo")
	f := startFRR(t, u, upstreamConf)

	dir := t.TempDir()
	flag4, flag6 := filepath.Join(dir, "up4"), filepath.Join(dir, "up6")
	for _, fl := range []string{flag4, flag6} {
		if err := os.WriteFile(fl, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vs := func(addr, flag string) string {
		return fmt.Sprintf(`virtual_server %s 80 {
    protocol TCP
    lb_algo mh
    lb_kind DR
    delay_loop 0.05
    real_server %s 80 {
        MISC_CHECK {
            misc_path "/bin/sh -c 'test -e %s'"
            misc_timeout 5
        }
    }
}
`, addr, map[string]string{flag4: "10.1.0.1", flag6: "fd00:9::1"}[flag], flag)
	}
	kconf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(kconf, []byte(vs("192.0.2.10", flag4)+vs("2001:db8:100::10", flag6)), 0o644); err != nil {
		t.Fatal(err)
	}
	bconf := filepath.Join(dir, "bgp.conf")
	bgpConf := `local_as 65001
router_id 10.0.1.1
neighbor 10.0.1.2 {
    remote_as 65000
    hold_time 6
    keepalive_interval 3
    connect_retry 1
}
neighbor fd00:1::2 {
    remote_as 65000
    hold_time 9
    connect_retry 1
}
community 65000:100
med 10
drain_time 0.3
vip_interface lo
`
	if err := os.WriteFile(bconf, []byte(bgpConf), 0o644); err != nil {
		t.Fatal(err)
	}
	h := startHelper(t, d, kconf, bconf)
	v4, v6 := netip.MustParsePrefix("192.0.2.10/32"), netip.MustParsePrefix("2001:db8:100::10/128")

	// Sessions come up and both VIPs are installed via the director.
	start := time.Now()
	at4 := f.waitRoute(t, v4, []string{"10.0.1.1"}, 30*time.Second)
	at6 := f.waitRoute(t, v6, []string{"fd00:1::1"}, 30*time.Second)
	t.Logf("sessions up and VIPs installed after start: IPv4 %v, IPv6 %v", at4.Sub(start).Round(time.Millisecond), at6.Sub(start).Round(time.Millisecond))
	if !d.HasAddr(v4.Addr()) || !d.HasAddr(v6.Addr()) {
		t.Error("vip_interface lo: the VIPs are not on lo in the director")
	}
	out := f.vtysh(t, "show bgp ipv4 unicast 192.0.2.10/32")
	if !strings.Contains(out, "65000:100") || !strings.Contains(out, "metric 10") {
		t.Errorf("FRR does not see community 65000:100 and MED 10:\n%s", out)
	}
	// hold_time 6 against FRR's 9: the session runs on 6 s, 2 s keepalives.
	if n := f.neighbor(t, "10.0.1.1"); n.HoldMs != 6000 || n.KeepaliveMs != 2000 {
		t.Errorf("FRR negotiated hold %d ms, keepalive %d ms; want 6000, 2000", n.HoldMs, n.KeepaliveMs)
	}
	// Without listen_port the director does not listen.
	if out := nsRun(t, d, "ss", "-Hltn"); strings.Contains(out, ":179 ") {
		t.Errorf("the director listens for BGP without listen_port:\n%s", out)
	}

	// Quorum lost (the IPv4 service's only real server fails): withdrawn.
	var withdraws, announces []time.Duration
	for range 3 {
		t0 := time.Now()
		if err := os.Remove(flag4); err != nil {
			t.Fatal(err)
		}
		withdraws = append(withdraws, f.waitRoute(t, v4, nil, 10*time.Second).Sub(t0))
		if got := f.nexthops(t, v6); len(got) != 1 {
			t.Errorf("the IPv6 VIP went too: %v", got)
		}
		t0 = time.Now()
		if err := os.WriteFile(flag4, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		announces = append(announces, f.waitRoute(t, v4, []string{"10.0.1.1"}, 10*time.Second).Sub(t0))
	}
	// The check runs every 50 ms: these include up to one check interval.
	t.Logf("check failure -> FRR route gone: %v; check success -> FRR route back: %v", withdraws, announces)

	// A reload that changes nothing sends FRR no UPDATE; one that changes
	// the MED re-announces in place (the route never leaves FRR's RIB).
	before := f.updatesFrom(t, "10.0.1.1")
	h.reload(t)
	time.Sleep(time.Second)
	if after := f.updatesFrom(t, "10.0.1.1"); after != before {
		t.Errorf("an unchanged reload sent %d UPDATEs to FRR", after-before)
	}
	if err := os.WriteFile(bconf, []byte(strings.Replace(bgpConf, "med 10", "med 20", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	h.reload(t)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(f.vtysh(t, "show bgp ipv4 unicast 192.0.2.10/32"), "metric 20") {
		if len(f.nexthops(t, v4)) == 0 {
			t.Fatal("the MED change withdrew the route")
		}
		if time.Now().After(deadline) {
			t.Fatal("FRR never saw MED 20")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// SIGTERM: the helper stops at its first IPVS removal and says so;
	// by then FRR must have no route while both sessions are up.
	t0 := time.Now()
	syscall.Kill(-h.cmd.Process.Pid, syscall.SIGTERM)
	h.waitLine(t, "ipvs delete-service", 20*time.Second)
	stopAt := time.Since(t0)
	if got := f.nexthops(t, v4); len(got) != 0 {
		t.Errorf("IPVS teardown began while FRR still routes %s via %v", v4, got)
	}
	if got := f.nexthops(t, v6); len(got) != 0 {
		t.Errorf("IPVS teardown began while FRR still routes %s via %v", v6, got)
	}
	if up := f.established(t); len(up) != 2 {
		t.Errorf("sessions established at IPVS teardown: %v, want both (the withdraw, not a session loss, removed the routes)", up)
	}
	t.Logf("SIGTERM -> first IPVS removal: %v (withdraw out, drain_time 300ms)", stopAt.Round(time.Millisecond))
	h.resume()
	select {
	case <-h.done:
	case <-time.After(20 * time.Second):
		t.Fatal("helper did not exit")
	}
	if code := h.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("the director exited with %d (a failed Run, or a race under -race)", code)
	}
	if d.HasAddr(v4.Addr()) || d.HasAddr(v6.Addr()) {
		t.Error("vip_interface lo: the VIPs stay on lo after stop")
	}
}

// helper is the director process of TestBGPNetnsFRR.
type helper struct {
	cmd   *exec.Cmd
	done  chan struct{}
	stdin io.WriteCloser
	mu    sync.Mutex
	lines []string
	cond  *sync.Cond
}

func startHelper(t *testing.T, ns *netns.NS, kconf, bconf string) *helper {
	t.Helper()
	needSpeaker(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	h := &helper{}
	h.cond = sync.NewCond(&h.mu)
	cmd := ns.Command(context.Background(), exe, "-test.run=^TestBGPHelperProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "LVSKIT_BGP_HELPER=1", "LVSKIT_BGP_KCONF="+kconf, "LVSKIT_BGP_BCONF="+bconf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	var errMu sync.Mutex
	cmd.Stderr = writerFunc(func(b []byte) (int, error) { errMu.Lock(); defer errMu.Unlock(); return stderr.Write(b) })
	if h.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	h.cmd, h.done = cmd, done
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.mu.Lock()
			h.lines = append(h.lines, sc.Text())
			h.cond.Broadcast()
			h.mu.Unlock()
		}
		cmd.Wait()
		close(done)
		h.mu.Lock()
		h.cond.Broadcast()
		h.mu.Unlock()
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if t.Failed() {
			errMu.Lock()
			t.Logf("helper stderr:\n%s", stderr.String())
			errMu.Unlock()
			h.mu.Lock()
			t.Logf("helper stdout:\n%s", strings.Join(h.lines, "\n"))
			h.mu.Unlock()
		}
	})
	return h
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// waitLine waits until the helper printed a line containing s.
func (h *helper) waitLine(t *testing.T, s string, within time.Duration) {
	t.Helper()
	timer := time.AfterFunc(within, func() { h.mu.Lock(); h.cond.Broadcast(); h.mu.Unlock() })
	defer timer.Stop()
	deadline := time.Now().Add(within)
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		for _, l := range h.lines {
			if strings.Contains(l, s) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("helper never printed %q; printed:\n%s", s, strings.Join(h.lines, "\n"))
		}
		h.cond.Wait()
	}
}

// reload sends the helper SIGHUP and waits until it handed the new plan
// to the router and the router took it.
func (h *helper) reload(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	n := len(h.lines)
	h.mu.Unlock()
	syscall.Kill(h.cmd.Process.Pid, syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		got := slices.Contains(h.lines[n:], "reload taken")
		h.mu.Unlock()
		if got {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the helper did not reload")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *helper) resume() { io.WriteString(h.stdin, "continue\n") }

// pausingOps is the helper's in-memory IPVS: it prints each operation, and
// before the first service removal waits for a line on stdin, so that the
// test can look at FRR at that moment.
type pausingOps struct {
	once sync.Once
	in   *bufio.Reader
}

func (o *pausingOps) Dump(context.Context) ([]ipvs.Service, error) { return nil, nil }

func (o *pausingOps) Do(_ context.Context, ops []ipvs.Op) error {
	for _, op := range ops {
		fmt.Printf("ipvs %s\n", op.Kind)
		if op.Kind == ipvs.OpDeleteService {
			o.once.Do(func() { o.in.ReadString('\n') })
		}
	}
	return nil
}

// TestBGPHelperProcess is the director of TestBGPNetnsFRR, run by it in a
// namespace: lvsrouter's Router with the real GoBGP speaker and an
// in-memory IPVS, until SIGTERM.
func TestBGPHelperProcess(t *testing.T) {
	if os.Getenv("LVSKIT_BGP_HELPER") != "1" {
		return // not a test of its own
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	bgpFile = os.Getenv("LVSKIT_BGP_BCONF")
	p, _, err := load(os.Getenv("LVSKIT_BGP_KCONF"), anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	r := newRouter(log)
	if r.mon, err = check.NewMonitor(&check.MonitorConfig{OnTransition: r.onCheck}); err != nil {
		t.Fatal(err)
	}
	r.applier = ipvs.NewApplier(&pausingOps{in: bufio.NewReader(os.Stdin)})
	if err := r.Load(ctx, p); err != nil {
		t.Fatal(err)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			p, _, err := load(os.Getenv("LVSKIT_BGP_KCONF"), anyInterface)
			if err != nil {
				fmt.Println("reload failed:", err)
				continue
			}
			// Reload returns once its Load did; the second is the
			// same plan again, an unchanged reload.
			for range 2 {
				if err := r.Reload(ctx, p); err != nil {
					fmt.Println("reload failed:", err)
				}
			}
			fmt.Println("reload taken")
		}
	}()
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	fmt.Println("exited")
}

// nsRun runs a command in a namespace and returns its output.
func nsRun(t *testing.T, ns *netns.NS, name string, args ...string) string {
	t.Helper()
	out, err := ns.Command(context.Background(), name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestBGPNetnsFRRSessionOptions: port (FRR's bgpd listens on 1179),
// local_address (FRR knows the director by its second address), password
// (TCP-MD5: the session comes up with FRR's password, and a reload with a
// wrong one replaces the neighbour and the session stays down), and
// listen_port (the director listens on it).
func TestBGPNetnsFRRSessionOptions(t *testing.T) {
	d, u := netns.New(t), netns.New(t)
	netns.Veth(t, d, "d0", u, "u0")
	d.AddAddr("d0", netip.MustParsePrefix("10.0.1.1/24"), netip.MustParsePrefix("10.0.1.3/24"))
	u.AddAddr("u0", netip.MustParsePrefix("10.0.1.2/24"))
	d.LinkUp("lo")
	f := startFRR(t, u, `frr defaults traditional
hostname upstream
!
router bgp 65000
 bgp router-id 10.0.1.2
 no bgp ebgp-requires-policy
 neighbor 10.0.1.3 remote-as 65001
 neighbor 10.0.1.3 password s3cret
 neighbor 10.0.1.3 timers connect 1
!
`, "-p", "1179")
	dir := t.TempDir()
	kconf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(kconf, []byte("virtual_server 192.0.2.10 80 {\n protocol TCP\n real_server 10.1.0.1 80 {\n }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := `local_as 65001
router_id 10.0.1.1
listen_port 1790
neighbor 10.0.1.2 {
    remote_as 65000
    port 1179
    local_address 10.0.1.3
    password s3cret
    connect_retry 1
}
`
	bconf := filepath.Join(dir, "bgp.conf")
	if err := os.WriteFile(bconf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	h := startHelper(t, d, kconf, bconf)
	v4 := netip.MustParsePrefix("192.0.2.10/32")
	f.waitRoute(t, v4, []string{"10.0.1.3"}, 30*time.Second)
	if out := nsRun(t, d, "ss", "-Hltn"); !strings.Contains(out, ":1790 ") {
		t.Errorf("listen_port 1790: the director does not listen:\n%s", out)
	}
	if err := os.WriteFile(bconf, []byte(strings.Replace(conf, "s3cret", "wrong", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	h.reload(t)
	f.waitRoute(t, v4, nil, 30*time.Second)
	time.Sleep(3 * time.Second) // several connect attempts
	if n := f.neighbor(t, "10.0.1.3"); n.State == "Established" {
		t.Error("the session came up with a wrong TCP-MD5 password")
	}
}

// TestBGPNetnsBinary runs the lvsrouter command with --bgp against FRR on
// this host, whose kernel has no IPVS (so its keepalived.conf has no
// virtual server, and nothing is announced): the session comes up (the
// flag, the file and the speaker are wired), no UPDATE is sent, and
// SIGTERM ends the process cleanly and promptly (nothing to drain).
func TestBGPNetnsBinary(t *testing.T) {
	d, u := netns.New(t), netns.New(t)
	netns.Veth(t, d, "d0", u, "u0")
	d.AddAddr("d0", netip.MustParsePrefix("10.0.1.1/24"))
	u.AddAddr("u0", netip.MustParsePrefix("10.0.1.2/24"))
	d.LinkUp("lo")
	f := startFRR(t, u, upstreamConf)
	dir := t.TempDir()
	kconf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(kconf, []byte("# no virtual server: the host has no IPVS\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bconf := filepath.Join(dir, "bgp.conf")
	if err := os.WriteFile(bconf, []byte("local_as 65001\nrouter_id 10.0.1.1\nneighbor 10.0.1.2 {\n remote_as 65000\n connect_retry 1\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	needSpeaker(t)
	p := d.StartEnv([]string{"LVSROUTER_AS_MAIN=1"}, self, "-l", "-n", "-p", filepath.Join(dir, "pid"), "-r", filepath.Join(dir, "vrrp.pid"),
		"-c", filepath.Join(dir, "check.pid"), "-f", kconf, "--bgp", bconf)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("lvsrouter log:\n%s", p.Output())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for n := f.neighbor(t, "10.0.1.1"); n.State != "Established"; n = f.neighbor(t, "10.0.1.1") {
		if time.Now().After(deadline) {
			t.Fatalf("FRR's session with lvsrouter: %q", n.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if n := f.updatesFrom(t, "10.0.1.1"); n != 0 {
		t.Errorf("FRR received %d UPDATEs", n)
	}
	t0 := time.Now()
	p.Signal(syscall.SIGTERM)
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("lvsrouter did not stop")
	}
	if code := p.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("lvsrouter exited %d", code)
	}
	t.Logf("SIGTERM -> exit: %v", time.Since(t0).Round(time.Millisecond))
}
