//go:build vm

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/vishvananda/netlink"
)

// demoNet is TestVMDemo's topology: a client on the LAN, routers r1 and
// r2 between the LAN and the back network, two web servers behind them.
type demoNet struct {
	client, r1, r2 *netns.NS
	servers        []*http.Server
	httpc          *http.Client
}

func newDemoNet(t *testing.T) *demoNet {
	t.Helper()
	lan, back := netns.NewSwitch(t), netns.NewSwitch(t)
	d := &demoNet{client: netns.New(t), r1: netns.New(t), r2: netns.New(t)}
	web := []*netns.NS{netns.New(t), netns.New(t)}
	lan.Connect(d.client, "eth0", netip.MustParsePrefix("10.0.0.100/24"))
	lan.Connect(d.r1, "eth0", netip.MustParsePrefix("10.0.0.2/24"))
	lan.Connect(d.r2, "eth0", netip.MustParsePrefix("10.0.0.3/24"))
	back.Connect(d.r1, "eth1", netip.MustParsePrefix("10.1.0.2/24"))
	back.Connect(d.r2, "eth1", netip.MustParsePrefix("10.1.0.3/24"))
	d.servers = make([]*http.Server, 2)
	for i, w := range web {
		name := fmt.Sprintf("web%d", i+1)
		back.Connect(w, "eth0", netip.MustParsePrefix(fmt.Sprintf("10.1.0.1%d/24", i+1)))
		if err := w.Handle().RouteAdd(&netlink.Route{Gw: net.ParseIP("10.1.0.1")}); err != nil {
			t.Fatalf("%s: default route: %v", name, err)
		}
		var ln net.Listener
		if err := w.Do(func() (err error) { ln, err = net.Listen("tcp", fmt.Sprintf("10.1.0.1%d:80", i+1)); return }); err != nil {
			t.Fatal(err)
		}
		d.servers[i] = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, name) })}
		go d.servers[i].Serve(ln)
		t.Cleanup(func() { d.servers[i].Close() })
	}
	for _, r := range []*netns.NS{d.r1, d.r2} {
		if err := r.Do(func() error { return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644) }); err != nil {
			t.Fatal(err)
		}
	}
	d.httpc = &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
			err = d.client.Do(func() error { c, err = (&net.Dialer{}).DialContext(ctx, network, addr); return err })
			return c, err
		},
	}}
	return d
}

// answers asks the VIP n times and returns the bodies (or errors).
func (d *demoNet) answers(n int) []string {
	var got []string
	for range n {
		resp, err := d.httpc.Get("http://10.0.0.10/")
		if err != nil {
			got = append(got, "error: "+err.Error())
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got = append(got, string(b))
	}
	return got
}

// startRouter starts lvsrouter in ns on routerConf with extra arguments;
// every process gets its own pid files.
func startRouter(t *testing.T, ns *netns.NS, name, state string, prio int, args ...string) *netns.Process {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	mustWrite(t, conf, fmt.Appendf(nil, routerConf, name, state, prio))
	argv := append([]string{"-f", conf, "-log-level", "info", "-p", filepath.Join(dir, "k.pid"),
		"-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid")}, args...)
	p := ns.StartEnv([]string{"LVSROUTER_AS_MAIN=1"}, self, argv...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s %v log:\n%s", name, args, p.Output())
		}
	})
	return p
}

// vrrpSockets counts the raw sockets for IP protocol 112 (VRRP) open in
// ns, from /proc/net/raw and raw6: a raw socket's local port column is
// its protocol.
func vrrpSockets(t *testing.T, ns *netns.NS) int {
	t.Helper()
	n := 0
	err := ns.Do(func() error {
		for _, f := range []string{"/proc/thread-self/net/raw", "/proc/thread-self/net/raw6"} {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			for _, line := range strings.Split(string(b), "\n")[1:] {
				fs := strings.Fields(line)
				if len(fs) < 2 {
					continue
				}
				if i := strings.LastIndexByte(fs[1], ':'); i >= 0 && strings.EqualFold(fs[1][i+1:], "0070") {
					n++
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestVMCheckOnlyModeProgramsIPVSAndNoAddress runs lvsrouter -C on the
// demo's config (vrrp_instance + virtual_server): IPVS gets the service
// with both checked real servers, the VIPs land on no interface even well
// past Master_Down_Interval, and no VRRP socket is ever opened.
func TestVMCheckOnlyModeProgramsIPVSAndNoAddress(t *testing.T) {
	testenv.NeedVM(t)
	d := newDemoNet(t)
	vip, gw := netip.MustParseAddr("10.0.0.10"), netip.MustParseAddr("10.1.0.1")
	p := startRouter(t, d.r1, "r1", "MASTER", 150, "-C")
	if !waitFor(30*time.Second, func() bool { return ipvsDestCount(d.r1) == 2 }) {
		t.Fatalf("lvsrouter -C did not program IPVS with 2 destinations (have %d)", ipvsDestCount(d.r1))
	}
	ipvsDests(t, d.r1, 2)
	// MASTER at priority 150 with advert_int 1 would take the VIPs after
	// about 3.6 s: wait beyond that.
	time.Sleep(6 * time.Second)
	if hasAddr(d.r1, vip) || hasAddr(d.r1, gw) {
		t.Fatalf("lvsrouter -C added a VIP: 10.0.0.10 %v, 10.1.0.1 %v", hasAddr(d.r1, vip), hasAddr(d.r1, gw))
	}
	if n := vrrpSockets(t, d.r1); n != 0 {
		t.Fatalf("lvsrouter -C has %d VRRP raw sockets open, want 0", n)
	}
	select {
	case <-p.Done():
		t.Fatal("lvsrouter -C exited")
	default:
	}
	t.Log("-C: IPVS 10.0.0.10:80 has 2 destinations; no VIP on any interface after 6 s; no raw socket for protocol 112")
}

// TestVMSplitPairPassesDemo runs the demo scenario with keepalived's split
// processes: on r1 one lvsrouter -P (VRRP only) and one lvsrouter -C
// (checkers and IPVS only) on the same config, r2 a full backup. The -P
// process takes the VIPs, the -C process balances across both web servers
// and removes the one that fails; when r1 crashes, r2 takes over.
func TestVMSplitPairPassesDemo(t *testing.T) {
	testenv.NeedVM(t)
	d := newDemoNet(t)
	vip := netip.MustParseAddr("10.0.0.10")
	pv := startRouter(t, d.r1, "r1", "MASTER", 150, "-P")
	pc := startRouter(t, d.r1, "r1", "MASTER", 150, "-C")
	startRouter(t, d.r2, "r2", "BACKUP", 100)
	if !waitFor(30*time.Second, func() bool { return hasAddr(d.r1, vip) && !hasAddr(d.r2, vip) }) {
		t.Fatalf("r1's -P process did not take %s (r1 %v, r2 %v)", vip, hasAddr(d.r1, vip), hasAddr(d.r2, vip))
	}
	if vrrpSockets(t, d.r1) == 0 {
		t.Fatal("no VRRP socket in r1 although -P runs there")
	}
	t.Log("r1 -P is master and holds the VIPs")
	var got []string
	if !waitFor(30*time.Second, func() bool {
		got = d.answers(4)
		return slices.Contains(got, "web1") && slices.Contains(got, "web2")
	}) {
		t.Fatalf("round robin through the VIP: answers %v", got)
	}
	ipvsDests(t, d.r1, 2)
	t.Logf("r1 -C balances across both: %v", got)
	d.servers[1].Close()
	if !waitFor(30*time.Second, func() bool {
		got = d.answers(4)
		return !slices.ContainsFunc(got, func(s string) bool { return s != "web1" })
	}) {
		t.Fatalf("after web2 failed its check: answers %v", got)
	}
	ipvsDests(t, d.r1, 1)
	t.Logf("r1 -C removed web2 from IPVS; answers %v", got)

	pv.Signal(syscall.SIGKILL)
	pc.Signal(syscall.SIGKILL)
	for _, l := range []string{"eth0", "eth1"} {
		if link, err := d.r1.Handle().LinkByName(l); err == nil {
			d.r1.Handle().LinkSetDown(link)
		}
	}
	if !waitFor(30*time.Second, func() bool { return hasAddr(d.r2, vip) }) {
		t.Fatalf("r2 did not take over %s", vip)
	}
	if !waitFor(30*time.Second, func() bool {
		got = d.answers(3)
		return !slices.ContainsFunc(got, func(s string) bool { return s != "web1" })
	}) {
		t.Fatalf("service through r2: answers %v", got)
	}
	t.Logf("r1 crashed (both processes); r2 took over and serves: %v", got)
}

// TestVMMetricsFollowFailures scrapes /metrics of both routers while a
// real server fails its TCP_CHECK and while the master fails: r1's
// real-server gauge drops to 0 and its transitions count 1; after r1 stops
// gracefully, r2's keepalived_vrrp_state goes from 1 (BACKUP) to 2
// (MASTER) and keepalived_become_master_total from 0 to 1.
func TestVMMetricsFollowFailures(t *testing.T) {
	testenv.NeedVM(t)
	d := newDemoNet(t)
	vip := netip.MustParseAddr("10.0.0.10")
	p1 := startRouter(t, d.r1, "r1", "MASTER", 150, "--metrics-addr", "127.0.0.1:9650")
	startRouter(t, d.r2, "r2", "BACKUP", 100, "--metrics-addr", "127.0.0.1:9650")
	scrape := func(ns *netns.NS) map[string]float64 {
		m := map[string]float64{}
		// The transport dials on its own goroutine: enter ns in the dial.
		c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
				err = ns.Do(func() error { c, err = (&net.Dialer{}).DialContext(ctx, network, addr); return err })
				return c, err
			},
		}}
		resp, err := c.Get("http://127.0.0.1:9650/metrics")
		if err != nil {
			return m
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if line == "" || line[0] == '#' {
				continue
			}
			i := strings.LastIndexByte(line, ' ')
			if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
				m[line[:i]] = v
			}
		}
		return m
	}
	// find returns the value of the first series whose name and labels
	// contain all parts.
	find := func(m map[string]float64, parts ...string) (float64, bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(k, p) }) {
				return m[k], true
			}
		}
		return 0, false
	}
	want := func(ns *netns.NS, what string, v float64, parts ...string) {
		t.Helper()
		var got float64
		var ok bool
		if !waitFor(30*time.Second, func() bool { got, ok = find(scrape(ns), parts...); return ok && got == v }) {
			t.Fatalf("%s: %v = %v (present %v), want %v", what, parts, got, ok, v)
		}
		t.Logf("%s: %s = %v", what, strings.Join(parts, " "), got)
	}
	if !waitFor(30*time.Second, func() bool { return hasAddr(d.r1, vip) }) {
		t.Fatal("r1 did not become master")
	}
	want(d.r1, "r1 master", 2, "keepalived_vrrp_state{", `"RH_1"`)
	want(d.r1, "r1 master", 1, "keepalived_become_master_total{", `"RH_1"`)
	want(d.r2, "r2 backup", 1, "keepalived_vrrp_state{", `"RH_1"`)
	want(d.r2, "r2 backup", 0, "keepalived_become_master_total{", `"RH_1"`)
	want(d.r1, "web2 up", 1, "lvsrouter_real_server_up{", "[10.1.0.12]:tcp:80")
	want(d.r1, "web2 up", 0, "lvsrouter_real_server_transitions_total{", "[10.1.0.12]:tcp:80")

	d.servers[1].Close()
	t.Log("web2 stopped")
	want(d.r1, "web2 failed", 0, "lvsrouter_real_server_up{", "[10.1.0.12]:tcp:80")
	want(d.r1, "web2 failed", 1, "lvsrouter_real_server_transitions_total{", "[10.1.0.12]:tcp:80")
	want(d.r1, "web1 still up", 1, "lvsrouter_real_server_up{", "[10.1.0.11]:tcp:80")
	want(d.r1, "IPVS read from the kernel", 1, "lvsrouter_ipvs_up")

	p1.Signal(syscall.SIGTERM)
	t.Log("r1 stopped (SIGTERM)")
	want(d.r2, "r2 took over", 2, "keepalived_vrrp_state{", `"RH_1"`)
	want(d.r2, "r2 took over", 1, "keepalived_become_master_total{", `"RH_1"`)
}

// ipvsDestCount is the number of destinations of ns's one IPVS service,
// -1 when there is not exactly one service.
func ipvsDestCount(ns *netns.NS) int {
	c, err := ipvs.Dial(context.Background(), &ipvs.Config{NetNS: ns.Path()})
	if err != nil {
		return -1
	}
	defer c.Close()
	svcs, err := c.Dump(context.Background())
	if err != nil || len(svcs) != 1 {
		return -1
	}
	return len(svcs[0].Destinations)
}
