//go:build vm

package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/ipvs"
)

// reloadVMConf is one VRRP instance and two virtual services; %[1]s is the
// weight of web1 on port 80 and %[2]s extra real servers there.
const reloadVMConf = `vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 60
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.0.0.10/24 dev eth0
    }
}

virtual_server 10.0.0.10 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.11 80 {
        weight %[1]s
    }
    real_server 10.1.0.12 80 {
    }
%[2]s}

virtual_server 10.0.0.10 443 {
    lb_algo wlc
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.11 443 {
    }
}
`

// TestVMReload reloads a running router with SIGHUP: a new real server and
// a changed weight become exactly two IPVS operations on the live service
// (no service is deleted or re-created, VRRP is left alone), and a broken
// configuration is rejected with its file:line:col while the running one
// stays in force.
func TestVMReload(t *testing.T) {
	testenv.NeedVM(t)
	lan := netns.NewSwitch(t)
	lb := netns.New(t)
	lan.Connect(lb, "eth0", netip.MustParsePrefix("10.0.0.2/24"))
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(fmt.Sprintf(reloadVMConf, "1", ""))
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := lb.StartEnv([]string{"LVSROUTER_AS_MAIN=1"}, self, "-f", conf)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("router log:\n%s", p.Output())
		}
	})
	c, err := ipvs.Dial(t.Context(), &ipvs.Config{NetNS: lb.Path()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// state renders the kernel's services as "TCP 10.0.0.10:80 rr 10.1.0.11:80/1 ...".
	state := func() string {
		svcs, err := c.Dump(t.Context())
		if err != nil {
			return "error: " + err.Error()
		}
		var lines []string
		for _, s := range svcs {
			line := s.Key().String() + " " + s.Scheduler
			var ds []string
			for _, d := range s.Destinations {
				ds = append(ds, fmt.Sprintf("%s/%d", d.Addr, d.Weight))
			}
			slices.Sort(ds)
			lines = append(lines, line+" "+strings.Join(ds, " "))
		}
		slices.Sort(lines)
		return strings.Join(lines, "\n")
	}
	want := "TCP 10.0.0.10:443 wlc 10.1.0.11:443/1\nTCP 10.0.0.10:80 rr 10.1.0.11:80/1 10.1.0.12:80/1"
	var got string
	if !waitFor(30*time.Second, func() bool { got = state(); return got == want }) {
		t.Fatalf("initial IPVS state:\n%s\nwant:\n%s", got, want)
	}
	vip := netip.MustParseAddr("10.0.0.10")
	if !waitFor(30*time.Second, func() bool { return hasAddr(lb, vip) }) {
		t.Fatal("the router never became master")
	}
	t.Logf("started: master for %s, IPVS:\n%s", vip, got)

	// Reload 1: web3 joins port 80 and web1's weight goes to 3.
	write(fmt.Sprintf(reloadVMConf, "3", "    real_server 10.1.0.13 80 {\n    }\n"))
	p.Signal(syscall.SIGHUP)
	want = "TCP 10.0.0.10:443 wlc 10.1.0.11:443/1\nTCP 10.0.0.10:80 rr 10.1.0.11:80/3 10.1.0.12:80/1 10.1.0.13:80/1"
	if !waitFor(30*time.Second, func() bool { got = state(); return got == want }) {
		t.Fatalf("after reload:\n%s\nwant:\n%s", got, want)
	}
	if !waitFor(10*time.Second, func() bool { return strings.Contains(p.Output(), "reloaded") }) {
		t.Fatal("no reloaded message")
	}
	ops := regexp.MustCompile(`msg=ipvs changes=(\d+) add-service=(\d+) del-service=(\d+) edit-service=(\d+) add-server=(\d+) del-server=(\d+) edit-server=(\d+)`).FindAllStringSubmatch(p.Output(), -1)
	if len(ops) != 2 {
		t.Fatalf("want two ipvs applies (start, reload), log has %d", len(ops))
	}
	if last := strings.Join(ops[1][1:], " "); last != "2 0 0 0 1 0 1" {
		t.Errorf("reload applied changes/add-svc/del-svc/edit-svc/add-rs/del-rs/edit-rs = %s, want 2 0 0 0 1 0 1", last)
	}
	if n := strings.Count(p.Output(), "msg=vrrp kept="); n != 1 {
		t.Errorf("VRRP changed %d times, want once (the start): an IPVS-only reload restarted it", n)
	}
	if !hasAddr(lb, vip) {
		t.Error("VIP lost over the reload")
	}
	t.Logf("reload: one add-server and one edit-server on the live service; VRRP untouched; IPVS:\n%s", got)

	// Reload 2: a broken file is rejected; the running state stays.
	write(strings.Replace(fmt.Sprintf(reloadVMConf, "3", ""), "virtual_router_id 60", "virtual_router_id 600", 1))
	p.Signal(syscall.SIGHUP)
	rejected := regexp.MustCompile(`reload rejected.*keepalived\.conf:4:\d+: virtual_router_id`)
	if !waitFor(30*time.Second, func() bool { return rejected.MatchString(p.Output()) }) {
		t.Fatalf("broken configuration not rejected with its place")
	}
	if got = state(); got != want {
		t.Errorf("state changed by a rejected reload:\n%s", got)
	}
	if !hasAddr(lb, vip) {
		t.Error("VIP lost over a rejected reload")
	}
	t.Logf("broken reload rejected: %s", rejected.FindString(p.Output()))

	p.Signal(syscall.SIGTERM)
	select {
	case <-p.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("router did not stop on SIGTERM")
	}
	if got = state(); got != "" {
		t.Errorf("IPVS services left after a stop (keepalived removes them unless -I):\n%s", got)
	}
	t.Log("SIGTERM: the router removed its IPVS services, as keepalived does")
}
