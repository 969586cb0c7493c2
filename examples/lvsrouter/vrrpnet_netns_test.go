//go:build netns

package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/vrrp"
	"golang.org/x/net/ipv4"
)

// vrrpNetConf is the configuration of TestVRRPNetAgainstKeepalived, read by
// both lvsrouter and keepalived: a vmac, a non-default multicast group, an
// advert source, an excluded VIP, virtual routes and rules, and static
// addresses, routes and rules.
const vrrpNetConf = `global_defs {
  router_id %[1]s
  vrrp_mcast_group4 224.0.0.19
}
static_ipaddress {
  10.88.%[4]d.1/24 dev eth0
}
static_routes {
  10.99.0.0/16 via 10.77.0.254 dev eth0
%[5]s}
static_rules {
  from 10.66.0.0/16 table 100 preference 1000
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority %[2]d
  advert_int 1
  use_vmac
  mcast_src_ip %[3]s
  virtual_ipaddress {
    10.77.0.100/24
  }
  virtual_ipaddress_excluded {
    10.77.0.101/24
  }
  virtual_routes {
    10.55.0.0/16 via 10.77.0.254 dev eth0
    10.56.0.0/16 dev eth0 table 100 metric 10
    src 10.77.0.100 10.57.0.0/16 dev eth0 no_track
    blackhole 10.59.0.0/16 no_track
  }
  virtual_rules {
    from 10.77.0.100/32 table 100 preference 100
    to 10.58.0.0/16 table 100 priority 200
  }
}
`

// netState is what a router installs in its namespace, as ip(8) prints it.
type netState struct {
	routes, rules, vmac, addrs string
}

var (
	linkIndex = regexp.MustCompile(`(?m)^\d+: `)
	// Kernel-chosen details of the vmac that differ between any two
	// links: none of them is set by the router.
	linkNoise = regexp.MustCompile(` (gso|tso|gro)_max_\w+ \d+| numtxqueues \d+| numrxqueues \d+`)
)

// ipOut runs ip(8) in ns.
func ipOut(t *testing.T, ns *netns.NS, args ...string) string {
	t.Helper()
	out, err := ns.Command(t.Context(), "ip", args...).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "does not exist") {
			return ""
		}
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// readNet reads what keepalived's keywords put in ns: the routes and rules
// of protocol keepalived, the vmac link and the IPv4 addresses.
func readNet(t *testing.T, ns *netns.NS) netState {
	t.Helper()
	var s netState
	s.routes = ipOut(t, ns, "route", "show", "table", "all", "proto", "18")
	s.rules = ipOut(t, ns, "rule", "show")
	s.vmac = linkNoise.ReplaceAllString(linkIndex.ReplaceAllString(ipOut(t, ns, "-d", "link", "show", "vrrp.51"), ""), "")
	var addrs []string
	for _, l := range strings.Split(ipOut(t, ns, "-4", "-o", "addr", "show"), "\n") {
		f := strings.Fields(l)
		if len(f) >= 4 && f[1] != "lo" {
			addrs = append(addrs, f[1]+" "+f[3])
		}
	}
	s.addrs = strings.Join(addrs, "\n")
	return s
}

// advert is one VRRP packet seen on the wire.
type advert struct {
	ethSrc, ipSrc, ipDst, addrs string
}

// captureAdverts records the VRRP adverts crossing the switch for d.
func captureAdverts(t *testing.T, sw *netns.Switch, d time.Duration) []advert {
	t.Helper()
	testenv.NeedTool(t, "tshark")
	ctx, cancel := context.WithTimeout(t.Context(), d+20*time.Second)
	defer cancel()
	cmd := sw.Command(ctx, "tshark", "-n", "-l", "-i", "br0", "-f", "ip proto 112",
		"-a", fmt.Sprintf("duration:%d", int(d.Seconds())), "-T", "fields",
		"-e", "eth.src", "-e", "ip.src", "-e", "ip.dst", "-e", "vrrp.ip_addr", "-E", "separator=|")
	out, err := cmd.Output()
	if err != nil && len(out) == 0 {
		t.Fatalf("tshark: %v", err)
	}
	var ads []advert
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, "|")
		if len(f) == 4 {
			ads = append(ads, advert{f[0], f[1], f[2], f[3]})
		}
	}
	return ads
}

// TestVRRPNetAgainstKeepalived runs lvsrouter and keepalived 2.2.7 on one
// LAN with the same configuration (use_vmac, vrrp_mcast_group4 224.0.0.19,
// mcast_src_ip, virtual_ipaddress_excluded, virtual_routes, virtual_rules,
// static_ipaddress, static_routes, static_rules): they elect one master
// over the vmac and the non-default group; the master's adverts leave the
// vmac (MAC 00:00:5e:00:01:33) from mcast_src_ip to 224.0.0.19 and carry
// the VIP but not the excluded one; lvsrouter as master installs the same
// routes, rules, vmac and addresses as keepalived as master (ip(8) output
// compared), and as backup none of the virtual ones, the static ones
// staying; a reload keeps the static entries and moves only what changed;
// a stop removes them all with the vmac.
func TestVRRPNetAgainstKeepalived(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "keepalived")
	testenv.NeedTool(t, "ip")
	sw := netns.NewSwitch(t)
	a, b := netns.New(t), netns.New(t)
	sw.Connect(a, "eth0", netip.MustParsePrefix("10.77.0.1/24"))
	sw.Connect(b, "eth0", netip.MustParsePrefix("10.77.0.2/24"))
	conf := func(id string, prio int, src string, host int, extra string) string {
		return fmt.Sprintf(vrrpNetConf, id, prio, src, host, extra)
	}
	excluded := netip.MustParseAddr("10.77.0.101")

	// keepalived 100, lvsrouter 150: lvsrouter is master.
	ka := startKeepalivedConf(t, a, conf("keepalived", 100, "10.77.0.1", 1, ""))
	lv := startLvsrouterConf(t, b, conf("lvsrouter", 150, "10.77.0.2", 2, ""))
	waitSoleMaster(t, lv, ka)
	if !hasAddr(b, excluded) || hasAddr(a, excluded) {
		t.Errorf("excluded VIP: on lvsrouter %v, on keepalived %v; want only on the master", hasAddr(b, excluded), hasAddr(a, excluded))
	}
	ads := captureAdverts(t, sw, 3*time.Second)
	lvMaster := readNet(t, b)
	kaBackup := readNet(t, a)
	checkAdverts(t, "lvsrouter", ads, "10.77.0.2")

	// keepalived as backup has no virtual route or rule; nor has
	// lvsrouter's plan put any on its side of the comparison.
	if got := kaBackup.routes; strings.Contains(got, "10.55.0.0") || !strings.Contains(got, "10.99.0.0/16") {
		t.Errorf("keepalived backup routes:\n%s", got)
	}

	// lvsrouter stops gracefully: keepalived takes over.
	lv.p.Signal(syscall.SIGTERM)
	select {
	case <-lv.p.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("lvsrouter did not stop on SIGTERM")
	}
	if !waitFor(10*time.Second, func() bool { return hasAddr(a, interopVIP) }) {
		t.Fatal("keepalived did not take over")
	}
	stopped := readNet(t, b)
	ads = captureAdverts(t, sw, 3*time.Second)
	kaMaster := readNet(t, a)
	checkAdverts(t, "keepalived", ads, "10.77.0.1")

	// What lvsrouter installed as master is what keepalived installed as
	// master: same ip(8) output, the host's own static address aside.
	lvAddrs := strings.ReplaceAll(lvMaster.addrs, "10.88.2.1", "10.88.X.1")
	kaAddrs := strings.ReplaceAll(kaMaster.addrs, "10.88.1.1", "10.88.X.1")
	lvAddrs = strings.ReplaceAll(lvAddrs, "10.77.0.2/", "10.77.0.SELF/")
	kaAddrs = strings.ReplaceAll(kaAddrs, "10.77.0.1/", "10.77.0.SELF/")
	for _, c := range []struct{ what, lv, ka string }{
		{"ip route show table all proto 18", lvMaster.routes, kaMaster.routes},
		{"ip rule show", lvMaster.rules, kaMaster.rules},
		{"ip -d link show vrrp.51", lvMaster.vmac, kaMaster.vmac},
		{"ip -4 addr", lvAddrs, kaAddrs},
	} {
		if c.lv != c.ka {
			t.Errorf("%s differs:\nlvsrouter master:\n%s\nkeepalived master:\n%s", c.what, c.lv, c.ka)
		} else {
			t.Logf("%s, the same on both masters:\n%s", c.what, c.lv)
		}
	}
	// Stopped, lvsrouter left nothing behind: no vmac, no virtual or
	// static route, rule or address.
	if stopped.routes != "" || strings.Contains(stopped.rules, "lookup 100") || stopped.vmac != "" || strings.Contains(stopped.addrs, "10.88.") {
		t.Errorf("left behind after stop:\n%+v", stopped)
	}

	// lvsrouter again, priority 50: backup. The static entries are there,
	// the virtual ones are not; a reload adding a static route and
	// changing nothing else keeps them.
	lv = startLvsrouterConf(t, b, conf("lvsrouter", 50, "10.77.0.2", 2, ""))
	if !waitFor(10*time.Second, func() bool { return strings.Contains(readNet(t, b).routes, "10.99.0.0/16") }) {
		t.Fatalf("static route not set at start:\n%s", readNet(t, b).routes)
	}
	time.Sleep(4 * time.Second) // beyond Master_Down_Interval: still backup
	backup := readNet(t, b)
	wantStatic := func(s netState, extra bool) {
		t.Helper()
		if !strings.Contains(s.addrs, "eth0 10.88.2.1/24") || !strings.Contains(s.routes, "10.99.0.0/16 via 10.77.0.254 dev eth0") ||
			!strings.Contains(s.rules, "1000:\tfrom 10.66.0.0/16 lookup 100 proto keepalived") {
			t.Errorf("static entries missing:\n%+v", s)
		}
		if strings.Contains(s.routes, "10.98.0.0/16") != extra {
			t.Errorf("static route 10.98.0.0/16 present %v, want %v:\n%s", !extra, extra, s.routes)
		}
	}
	wantStatic(backup, false)
	if strings.Contains(backup.routes, "10.55.0.0") || strings.Contains(backup.rules, "from 10.77.0.100") ||
		strings.Contains(backup.rules, "10.58.0.0/16") || hasAddr(b, excluded) {
		t.Errorf("lvsrouter backup holds virtual entries:\n%+v", backup)
	}
	if backup.vmac == "" {
		t.Error("lvsrouter backup has no vmac (keepalived creates it at start, whatever the state)")
	}
	if err := os.WriteFile(lv.conf, []byte(conf("lvsrouter", 50, "10.77.0.2", 2, "  10.98.0.0/16 dev eth0\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	lv.p.Signal(syscall.SIGHUP)
	if !waitFor(10*time.Second, func() bool { return strings.Contains(readNet(t, b).routes, "10.98.0.0/16") }) {
		t.Fatalf("reload did not add the static route:\n%s", readNet(t, b).routes)
	}
	wantStatic(readNet(t, b), true)
	if err := os.WriteFile(lv.conf, []byte(conf("lvsrouter", 50, "10.77.0.2", 2, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	lv.p.Signal(syscall.SIGHUP)
	if !waitFor(10*time.Second, func() bool { return !strings.Contains(readNet(t, b).routes, "10.98.0.0/16") }) {
		t.Fatalf("reload did not remove the static route:\n%s", readNet(t, b).routes)
	}
	wantStatic(readNet(t, b), false)
	if !hasAddr(a, interopVIP) || hasAddr(b, interopVIP) {
		t.Error("keepalived lost mastership to a lower-priority lvsrouter")
	}
}

// checkAdverts checks the master's adverts: from the vmac's MAC, from
// mcast_src_ip, to the configured group, with the VIP and without the
// excluded VIP.
func checkAdverts(t *testing.T, who string, ads []advert, src string) {
	t.Helper()
	var mine []advert
	for _, a := range ads {
		if a.ipSrc == src {
			mine = append(mine, a)
		}
	}
	if len(mine) < 2 {
		t.Errorf("%s: %d adverts from %s in 3 s (all: %v)", who, len(mine), src, ads)
		return
	}
	want := advert{"00:00:5e:00:01:33", src, "224.0.0.19", "10.77.0.100"}
	if i := slices.IndexFunc(mine, func(a advert) bool { return a != want }); i >= 0 {
		t.Errorf("%s advert %+v, want %+v", who, mine[i], want)
	} else {
		t.Logf("%s: %d adverts, each %+v", who, len(mine), want)
	}
}

// skipCheckConf is TestSkipCheckAdvAddrAgainstKeepalived's configuration:
// %[3]s is skip_check_adv_addr or nothing, %[4]s extra VIPs.
const skipCheckConf = `global_defs {
  router_id %[1]s
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 52
  priority %[2]d
  advert_int 1
  %[3]s
  virtual_ipaddress {
    10.77.0.100/24 dev eth0
%[4]s  }
}
`

// TestSkipCheckAdvAddrAgainstKeepalived: keepalived is master; then its
// adverts carry one more VIP. lvsrouter as backup, checking the address
// list (keepalived's default), drops the changed adverts and takes over,
// as keepalived would; with skip_check_adv_addr it keeps accepting them
// from the master it knows and stays backup. The changed adverts are sent
// from keepalived's address while its VRRP process is stopped: a keepalived
// reload may resign first (priority 0), which would hand lvsrouter the VIP
// whatever its rule.
func TestSkipCheckAdvAddrAgainstKeepalived(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "keepalived")
	for _, c := range []struct {
		name     string
		skip     string
		takeover bool
	}{
		{"check", "", true},
		{"skip", "skip_check_adv_addr", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a, b := interopLAN(t)
			ka := startKeepalivedConf(t, a, fmt.Sprintf(skipCheckConf, "keepalived", 150, "", ""))
			lv := startLvsrouterConf(t, b, fmt.Sprintf(skipCheckConf, "lvsrouter", 100, c.skip, ""))
			waitSoleMaster(t, ka, lv)
			var adv *ipv4.PacketConn
			if err := a.Do(func() error {
				ifi, err := net.InterfaceByName("eth0")
				if err != nil {
					return err
				}
				pc, err := net.ListenPacket("ip4:112", "10.77.0.1")
				if err != nil {
					return err
				}
				adv = ipv4.NewPacketConn(pc)
				if err := adv.SetMulticastTTL(255); err != nil {
					return err
				}
				return adv.SetMulticastInterface(ifi)
			}); err != nil {
				t.Fatal(err)
			}
			defer adv.Close()
			pid, err := os.ReadFile(ka.vrrpPID)
			if err != nil {
				t.Fatal(err)
			}
			var kpid int
			fmt.Sscan(string(pid), &kpid)
			if kpid <= 0 || syscall.Kill(kpid, syscall.SIGSTOP) != nil {
				t.Fatalf("cannot stop keepalived's VRRP process %q", pid)
			}
			defer syscall.Kill(kpid, syscall.SIGCONT)
			pkt := vrrp.Packet{Version: 2, Type: 1, VRID: 52, Priority: 150, Interval: time.Second,
				Addrs: []netip.Addr{interopVIP, netip.MustParseAddr("10.77.0.102")}}
			buf, err := pkt.AppendTo(nil, netip.MustParseAddr("10.77.0.1"), netip.MustParseAddr("224.0.0.18"), vrrp.ChecksumPseudoHeader)
			if err != nil {
				t.Fatal(err)
			}
			// Master_Down_Interval (3.6 s) and some: a backup dropping the
			// adverts takes over within it.
			took := false
			for range 7 {
				if _, err := adv.WriteTo(buf, nil, &net.IPAddr{IP: net.IPv4(224, 0, 0, 18)}); err != nil {
					t.Fatal(err)
				}
				if waitFor(time.Second, func() bool { return hasAddr(b, interopVIP) }) {
					took = true
					break
				}
			}
			if took != c.takeover {
				t.Errorf("lvsrouter (%s) took the VIP over: %v, want %v", c.name, took, c.takeover)
			} else {
				t.Logf("lvsrouter (%s) took the VIP over: %v, as keepalived's rule says", c.name, took)
			}
		})
	}
}

// xmitBaseConf has use_vmac with vmac_xmit_base.
const xmitBaseConf = `global_defs {
  router_id %[1]s
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 53
  priority %[2]d
  advert_int 1
  use_vmac
  vmac_xmit_base
  virtual_ipaddress {
    10.77.0.100/24
  }
}
`

// TestVMACXmitBaseAgainstKeepalived: with use_vmac and vmac_xmit_base,
// lvsrouter and keepalived elect one master, whose adverts leave the base
// interface with its own MAC while the VIP sits on the vmac; the same
// when keepalived is master.
func TestVMACXmitBaseAgainstKeepalived(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "keepalived")
	sw := netns.NewSwitch(t)
	a, b := netns.New(t), netns.New(t)
	sw.Connect(a, "eth0", netip.MustParsePrefix("10.77.0.1/24"))
	sw.Connect(b, "eth0", netip.MustParsePrefix("10.77.0.2/24"))
	mac := func(ns *netns.NS) string {
		l, err := ns.Handle().LinkByName("eth0")
		if err != nil {
			t.Fatal(err)
		}
		return l.Attrs().HardwareAddr.String()
	}
	ka := startKeepalivedConf(t, a, fmt.Sprintf(xmitBaseConf, "keepalived", 100))
	lv := startLvsrouterConf(t, b, fmt.Sprintf(xmitBaseConf, "lvsrouter", 150))
	waitSoleMaster(t, lv, ka)
	onVMAC := func(ns *netns.NS) bool {
		return strings.Contains(ipOut(t, ns, "-4", "-o", "addr", "show", "dev", "vrrp.53"), "10.77.0.100/24")
	}
	check := func(who string, ns *netns.NS, src string) {
		t.Helper()
		if !onVMAC(ns) {
			t.Errorf("%s: VIP not on vrrp.53", who)
		}
		n := 0
		for _, ad := range captureAdverts(t, sw, 3*time.Second) {
			if ad.ipSrc != src {
				continue
			}
			n++
			if ad.ethSrc != mac(ns) || ad.ipDst != "224.0.0.18" {
				t.Errorf("%s advert %+v, want from %s (eth0) to 224.0.0.18", who, ad, mac(ns))
				return
			}
		}
		if n < 2 {
			t.Errorf("%s: %d adverts in 3 s", who, n)
			return
		}
		t.Logf("%s: %d adverts from eth0's MAC %s, VIP on the vmac", who, n, mac(ns))
	}
	check("lvsrouter", b, "10.77.0.2")
	lv.p.Signal(syscall.SIGTERM)
	select {
	case <-lv.p.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("lvsrouter did not stop on SIGTERM")
	}
	if !waitFor(10*time.Second, func() bool { return hasAddr(a, interopVIP) }) {
		t.Fatal("keepalived did not take over")
	}
	check("keepalived", a, "10.77.0.1")
	// lvsrouter back at a lower priority stays backup, hearing
	// keepalived's adverts from the base MAC on its vmac.
	lv = startLvsrouterConf(t, b, fmt.Sprintf(xmitBaseConf, "lvsrouter", 50))
	time.Sleep(5 * time.Second)
	if hasAddr(b, interopVIP) || !hasAddr(a, interopVIP) {
		t.Error("lvsrouter at priority 50 did not stay backup under keepalived")
	}
}
