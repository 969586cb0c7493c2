//go:build vm

package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/ipvs"
)

// routerConf is the seed document's NAT load balancer (section 4.1) shrunk
// to one VRRP instance carrying both the public VIP and the real servers'
// gateway, with TCP checks every second.
const routerConf = `global_defs {
    router_id %[1]s
}

vrrp_instance RH_1 {
    state %[2]s
    interface eth0
    virtual_router_id 50
    priority %[3]d
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass passw123
    }
    virtual_ipaddress {
        10.0.0.10/24 dev eth0
        10.1.0.1/24 dev eth1
    }
}

virtual_server 10.0.0.10 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP

    real_server 10.1.0.11 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.1.0.12 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`

// TestVMDemo runs the router end to end in the kernel VM: two lvsrouter
// processes (master and backup) in front of two web servers, a client
// balanced across them, a web server failing its health check, and the
// master crashing.
func TestVMDemo(t *testing.T) {
	testenv.NeedVM(t)
	d := newDemoNet(t)
	r1, r2, servers := d.r1, d.r2, d.servers
	t.Log("topology: client 10.0.0.100 -- lan -- r1 10.0.0.2 / r2 10.0.0.3 -- back -- web1 10.1.0.11, web2 10.1.0.12")

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	start := func(ns *netns.NS, name, state string, prio int) *netns.Process {
		conf := filepath.Join(t.TempDir(), name+".conf")
		mustWrite(t, conf, fmt.Appendf(nil, routerConf, name, state, prio))
		return ns.StartEnv([]string{"LVSROUTER_AS_MAIN=1"}, self, "-f", conf, "-log-level", "info")
	}
	p1 := start(r1, "r1", "MASTER", 150)
	p2 := start(r2, "r2", "BACKUP", 100)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("r1 log:\n%s\nr2 log:\n%s", p1.Output(), p2.Output())
		}
	})

	vip := netip.MustParseAddr("10.0.0.10")
	if !waitFor(30*time.Second, func() bool { return hasAddr(r1, vip) && !hasAddr(r2, vip) }) {
		t.Fatalf("r1 did not become master holding %s (r1 %v, r2 %v)", vip, hasAddr(r1, vip), hasAddr(r2, vip))
	}
	t.Log("r1 is master and holds VIP 10.0.0.10; r2 is backup")

	answers := d.answers
	var got []string
	if !waitFor(30*time.Second, func() bool {
		got = answers(4)
		return slices.Contains(got, "web1") && slices.Contains(got, "web2")
	}) {
		t.Fatalf("round robin through the VIP: answers %v", got)
	}
	t.Logf("client through VIP, rr across both real servers: %v", got)
	ipvsDests(t, r1, 2)

	servers[1].Close()
	t.Log("web2 stopped")
	if !waitFor(30*time.Second, func() bool {
		got = answers(4)
		return !slices.ContainsFunc(got, func(s string) bool { return s != "web1" })
	}) {
		t.Fatalf("after web2 failed its check: answers %v", got)
	}
	ipvsDests(t, r1, 1)
	t.Logf("TCP_CHECK removed web2 from IPVS; answers %v", got)

	// A crash: the process dies and its links go with the machine.
	p1.Signal(syscall.SIGKILL)
	for _, l := range []string{"eth0", "eth1"} {
		if link, err := r1.Handle().LinkByName(l); err == nil {
			r1.Handle().LinkSetDown(link)
		}
	}
	crashed := time.Now()
	t.Log("r1 crashed (SIGKILL, links down)")
	if !waitFor(30*time.Second, func() bool { return hasAddr(r2, vip) }) {
		t.Fatalf("r2 did not take over %s", vip)
	}
	t.Logf("r2 took over the VIPs %v after the crash (Master_Down_Interval 3.6 s + detection)", time.Since(crashed).Round(10*time.Millisecond))
	if !waitFor(30*time.Second, func() bool {
		got = answers(3)
		return !slices.ContainsFunc(got, func(s string) bool { return s != "web1" })
	}) {
		t.Fatalf("service through r2: answers %v", got)
	}
	t.Logf("client still served through r2: %v", got)
	p2.Signal(syscall.SIGTERM)
	select {
	case <-p2.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("r2 did not stop on SIGTERM")
	}
	if hasAddr(r2, vip) {
		t.Error("r2 kept the VIP after a graceful stop")
	}
	t.Log("r2 stopped gracefully and released the VIPs")
}

// ipvsDests checks, through lvskit's own ipvs client in the router's
// namespace, how many destinations the virtual service has.
func ipvsDests(t *testing.T, ns *netns.NS, want int) {
	t.Helper()
	c, err := ipvs.Dial(t.Context(), &ipvs.Config{NetNS: ns.Path()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	svcs, err := c.Dump(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(svcs) != 1 || len(svcs[0].Destinations) != want {
		t.Fatalf("IPVS in %s: %+v, want one service with %d destinations", ns.Name, svcs, want)
	}
	var ds []string
	for _, d := range svcs[0].Destinations {
		ds = append(ds, fmt.Sprintf("%s w%d", d.Addr, d.Weight))
	}
	t.Logf("IPVS %s %s -> %s", svcs[0].Addr, svcs[0].Scheduler, strings.Join(ds, ", "))
}
