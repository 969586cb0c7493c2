//go:build netns

package vrrp

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The test binary doubles as a standalone lvskit VRRP daemon: started with
// -vrrp.child=FILE inside a namespace it runs the instances in FILE until
// SIGTERM (graceful: priority 0) or SIGKILL (a crash).
var childConf = flag.String("vrrp.child", "", "run as lvskit VRRP child with this JSON config")

func TestMain(m *testing.M) {
	flag.Parse()
	if *childConf != "" {
		os.Exit(runChild(*childConf))
	}
	os.Exit(m.Run())
}

func runChild(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Println("child:", err)
		return 2
	}
	var spec childSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		fmt.Println("child:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := NewRouter(&RouterConfig{Logger: log})
	if err != nil {
		fmt.Println("child:", err)
		return 2
	}
	byName := map[string]*Instance{}
	for _, c := range spec.Instances {
		if !spec.Quiet {
			c.OnTransition = func(name string, t Transition) {
				fmt.Printf("STATE %s %s %d\n", name, t.To, t.At.UnixNano())
			}
		}
		in, err := r.Add(c)
		if err != nil {
			fmt.Println("child:", err)
			return 2
		}
		byName[c.Name] = in
	}
	for i, g := range spec.Groups {
		var members []*Instance
		for _, n := range g {
			members = append(members, byName[n])
		}
		if err := r.SyncGroup(fmt.Sprintf("G%d", i), members...); err != nil {
			fmt.Println("child:", err)
			return 2
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := r.Run(ctx); err != nil {
		fmt.Println("child:", err)
		return 1
	}
	for _, in := range r.Instances() {
		b, _ := json.Marshal(in.Stats())
		fmt.Printf("STATS %s %s\n", in.Name(), b)
	}
	var rd []string
	for _, d := range DropReasons() {
		if n := r.Drops().Get(d); n > 0 {
			rd = append(rd, fmt.Sprintf("%s=%d", d, n))
		}
	}
	fmt.Printf("DROPS %s\n", strings.Join(rd, ","))
	return 0
}

// childSpec is what a child runs.
type childSpec struct {
	Instances []Config
	Groups    [][]string
	Quiet     bool // no STATE lines (benchmarks with many instances)
}

// lan is a bridge with hosts on 10.77.0.0/24 and fd00:77::/64.
type lan struct {
	t     testing.TB
	sw    *netns.Switch
	hosts []*netns.NS
}

func newLAN(t testing.TB, n int) *lan {
	t.Helper()
	testenv.NeedRoot(t)
	l := &lan{t: t, sw: netns.NewSwitch(t)}
	for i := range n {
		h := netns.New(t)
		// No DAD, so link-local sources are usable at once.
		for _, k := range []string{"all", "default"} {
			writeSysctl(t, h, "net/ipv6/conf/"+k+"/accept_dad", "0")
		}
		l.sw.Connect(h, "eth0", l.v4(i, 24), l.v6(i, 64))
		h.AddAddr("eth0", netip.MustParsePrefix(fmt.Sprintf("fe80::77:%d/64", i+1)))
		l.hosts = append(l.hosts, h)
	}
	for _, h := range l.hosts {
		waitNoTentative(t, h)
	}
	return l
}

func (l *lan) v4(i, bits int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 77, 0, byte(i + 1)}), bits)
}

func (l *lan) v6(i, bits int) netip.Prefix {
	return netip.PrefixFrom(netip.MustParseAddr(fmt.Sprintf("fd00:77::%d", i+1)), bits)
}

// ll is host i's link-local address, the VRRP IPv6 source.
func (l *lan) ll(i int) netip.Addr { return netip.MustParseAddr(fmt.Sprintf("fe80::77:%d", i+1)) }

func writeSysctl(t testing.TB, h *netns.NS, key, val string) {
	t.Helper()
	err := h.Do(func() error {
		// /proc/sys/net follows the writing thread's network namespace.
		return os.WriteFile("/proc/sys/"+key, []byte(val), 0o644)
	})
	if err != nil {
		t.Fatalf("sysctl %s in %s: %v", key, h.Name, err)
	}
}

func waitNoTentative(t testing.TB, h *netns.NS) {
	t.Helper()
	waitFor(t, 10*time.Second, "no tentative IPv6 addresses in "+h.Name, func() bool {
		addrs, err := h.Handle().AddrList(nil, netlink.FAMILY_V6)
		if err != nil {
			return false
		}
		for _, a := range addrs {
			if a.Flags&unix.IFA_F_TENTATIVE != 0 {
				return false
			}
		}
		return true
	})
}

// waitFor polls cond every 10 ms until it holds or timeout passes (a
// safety net, not an assertion about speed).
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func hasAddr(h *netns.NS, a netip.Addr) bool {
	addrs, err := h.Handle().AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return false
	}
	for _, x := range addrs {
		if ip, _ := netip.AddrFromSlice(x.IP); ip.Unmap() == a {
			return true
		}
	}
	return false
}

// waitMaster waits until exactly host m of the given hosts holds vip, and
// it stays so for hold.
func (l *lan) waitMaster(vip netip.Addr, m int, hosts []int, timeout, hold time.Duration) {
	l.t.Helper()
	ok := func() bool {
		for _, i := range hosts {
			if hasAddr(l.hosts[i], vip) != (i == m) {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(timeout)
	for {
		waitFor(l.t, time.Until(deadline)+time.Millisecond, fmt.Sprintf("VIP %v only on host %d", vip, m), ok)
		stable := true
		for end := time.Now().Add(hold); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if !ok() {
				stable = false
				break
			}
		}
		if stable {
			return
		}
	}
}

// lvskitProc is a child process running lvskit instances in a namespace.
type lvskitProc struct {
	*netns.Process
}

func startLvskit(t testing.TB, h *netns.NS, cfgs ...Config) lvskitProc {
	t.Helper()
	return startChild(t, h, childSpec{Instances: cfgs})
}

// startLvskitGroup starts a child whose instances form one sync group.
func startLvskitGroup(t *testing.T, h *netns.NS, cfgs []Config) lvskitProc {
	t.Helper()
	var names []string
	for _, c := range cfgs {
		names = append(names, c.Name)
	}
	return startChild(t, h, childSpec{Instances: cfgs, Groups: [][]string{names}})
}

func startChild(t testing.TB, h *netns.NS, spec childSpec) lvskitProc {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lvskit.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := h.Start(exe, "-vrrp.child="+path)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("lvskit output in %s:\n%s", h.Name, p.Output())
		}
	})
	return lvskitProc{p}
}

// stop stops the child gracefully and waits for it.
func (p lvskitProc) stop(t testing.TB) {
	t.Helper()
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("lvskit child did not stop")
	}
}

// kill crashes the child.
func (p lvskitProc) kill() { p.Kill() }

// transitions parses the child's STATE lines.
func (p lvskitProc) transitions() []childTransition {
	var out []childTransition
	sc := bufio.NewScanner(strings.NewReader(p.Output()))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 4 && f[0] == "STATE" {
			ns, _ := strconv.ParseInt(f[3], 10, 64)
			out = append(out, childTransition{name: f[1], state: f[2], at: time.Unix(0, ns)})
		}
	}
	return out
}

// waitState waits until the child reports instance name in state.
func (p lvskitProc) waitState(t *testing.T, name, state string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, name+" "+state, func() bool {
		tr := p.transitions()
		for i := len(tr) - 1; i >= 0; i-- {
			if tr[i].name == name {
				return tr[i].state == state
			}
		}
		return false
	})
}

// stats returns the Stats the child printed when it stopped.
func (p lvskitProc) stats(t *testing.T, name string) Stats {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(p.Output()))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "STATS "+name+" "); ok {
			var s Stats
			if err := json.Unmarshal([]byte(rest), &s); err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	t.Fatalf("no stats for %s in child output:\n%s", name, p.Output())
	return Stats{}
}

type childTransition struct {
	name, state string
	at          time.Time
}

// keepalived is a keepalived VRRP daemon in a namespace.
type keepalived struct {
	p       *netns.Process
	vrrpPID string
	conf    string
}

func startKeepalived(t testing.TB, h *netns.NS, conf string) *keepalived {
	t.Helper()
	testenv.NeedTool(t, "keepalived")
	dir := t.TempDir()
	k := &keepalived{conf: filepath.Join(dir, "keepalived.conf"), vrrpPID: filepath.Join(dir, "vrrp.pid")}
	if err := os.WriteFile(k.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	k.p = h.Start("keepalived", "-n", "-l", "-D", "-G", "-R", "-P", "-f", k.conf,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", k.vrrpPID)
	t.Cleanup(func() {
		k.kill()
		if t.Failed() {
			t.Logf("keepalived in %s:\n%s\n%s", h.Name, conf, k.p.Output())
		}
	})
	return k
}

// kill crashes keepalived: the VRRP child first, so that it cannot resign.
func (k *keepalived) kill() {
	if b, err := os.ReadFile(k.vrrpPID); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	k.p.Kill()
}

// waitVRRPChild waits until keepalived's VRRP child has written its pid.
func (k *keepalived) waitVRRPChild(t testing.TB) {
	t.Helper()
	waitFor(t, 10*time.Second, "keepalived VRRP child", func() bool {
		b, err := os.ReadFile(k.vrrpPID)
		return err == nil && len(strings.TrimSpace(string(b))) > 0
	})
}

// stop stops keepalived gracefully (its master resigns with priority 0).
func (k *keepalived) stop(t *testing.T) {
	t.Helper()
	_ = syscall.Kill(k.p.Cmd.Process.Pid, 0)
	_ = k.p.Signal(syscall.SIGTERM)
	select {
	case <-k.p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("keepalived did not stop")
	}
}

// kaInstance describes a keepalived vrrp_instance for tests.
type kaInstance struct {
	name      string
	version   int
	vrid      int
	priority  int
	advert    string // advert_int as keepalived reads it
	nopreempt bool
	pass      string
	vip       netip.Prefix
	iface     string       // default eth0
	src       netip.Addr   // unicast_src_ip (unicast mode)
	peers     []netip.Addr // unicast_peer
	extra     string
}

func (k kaInstance) String() string {
	if k.iface == "" {
		k.iface = "eth0"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "vrrp_instance %s {\n  state BACKUP\n  interface %s\n  virtual_router_id %d\n  priority %d\n  advert_int %s\n  version %d\n",
		k.name, k.iface, k.vrid, k.priority, k.advert, k.version)
	if k.nopreempt {
		b.WriteString("  nopreempt\n")
	}
	if k.pass != "" {
		fmt.Fprintf(&b, "  authentication {\n    auth_type PASS\n    auth_pass %s\n  }\n", k.pass)
	}
	if len(k.peers) > 0 {
		fmt.Fprintf(&b, "  unicast_src_ip %s\n  unicast_peer {\n", k.src)
		for _, p := range k.peers {
			fmt.Fprintf(&b, "    %s\n", p)
		}
		b.WriteString("  }\n")
	}
	fmt.Fprintf(&b, "  virtual_ipaddress {\n    %s dev %s\n  }\n%s}\n", k.vip, k.iface, k.extra)
	return b.String()
}

func kaConf(id string, insts ...kaInstance) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n  router_id %s\n  vrrp_garp_master_delay 0\n  enable_script_security\n  script_user root\n}\n", id)
	for _, in := range insts {
		b.WriteString(in.String())
	}
	return b.String()
}

// partition detaches switch port pN from the bridge (its link stays up,
// so nobody sees a fault, but no advert crosses) and returns the healing.
func (l *lan) partition(t *testing.T, n int) (heal func()) {
	t.Helper()
	sw := l.sw.Handle()
	port, err := sw.LinkByName(fmt.Sprintf("p%d", n))
	if err != nil {
		t.Fatal(err)
	}
	br, err := sw.LinkByName("br0")
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.LinkSetNoMaster(port); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if err := sw.LinkSetMaster(port, br); err != nil {
			t.Fatal(err)
		}
	}
}

// serveName makes host h answer TCP connections on port 7777 (any
// address, both families) with name.
func serveName(t *testing.T, h *netns.NS, name string) {
	t.Helper()
	var ln net.Listener
	err := h.Do(func() error {
		var err error
		ln, err = net.Listen("tcp", "[::]:7777")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(name))
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
}

// askName connects from h to addr:7777 and returns who answered ("" on
// failure).
func askName(h *netns.NS, addr netip.Addr) string {
	var c net.Conn
	err := h.Do(func() error {
		var err error
		c, err = net.DialTimeout("tcp", netip.AddrPortFrom(addr, 7777).String(), time.Second)
		return err
	})
	if err != nil {
		return ""
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	b := make([]byte, 64)
	n, _ := c.Read(b)
	return string(b[:n])
}

var _ = exec.ErrNotFound
