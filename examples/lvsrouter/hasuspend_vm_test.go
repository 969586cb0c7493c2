//go:build vm

package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/vishvananda/netlink"
)

// haSuspendVMConf is one ha_suspend service whose MISC_CHECK script logs
// every run and passes while the file "up" exists.
const haSuspendVMConf = `virtual_server 10.0.0.10 80 {
    delay_loop 1
    ha_suspend
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.11 80 {
        MISC_CHECK {
            misc_path "%[1]s/check.sh"
        }
    }
}
`

// TestVMHASuspendMatchesKeepalived runs keepalived -C and lvsrouter -C on
// the same ha_suspend configuration, each in its own namespace, and moves
// the VIP the same way under both: at start without the VIP neither runs
// a check and both program the service with its (initially alive) real
// server; the VIP added, both check; the server failing, both remove it;
// the VIP removed, neither checks, and a server that recovers meanwhile
// stays out of IPVS in both (a suspended checker keeps its state); the
// VIP back, both check again and put the server back. At every step the
// two IPVS tables are equal.
func TestVMHASuspendMatchesKeepalived(t *testing.T) {
	testenv.NeedVM(t)
	bin := testenv.NeedTool(t, "keepalived")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	type side struct {
		name string
		ns   *netns.NS
		dir  string
		p    *netns.Process
	}
	var sides []*side
	for _, name := range []string{"keepalived", "lvsrouter"} {
		s := &side{name: name, ns: netns.New(t), dir: t.TempDir()}
		s.ns.LinkUp("lo")
		mustWrite(t, filepath.Join(s.dir, "check.sh"), fmt.Appendf(nil, "#!/bin/sh\necho run >> %[1]s/runs\ntest -e %[1]s/up\n", s.dir))
		if err := os.Chmod(filepath.Join(s.dir, "check.sh"), 0o755); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(s.dir, "up"), nil)
		conf := filepath.Join(s.dir, "keepalived.conf")
		mustWrite(t, conf, fmt.Appendf(nil, haSuspendVMConf, s.dir))
		pids := []string{"-p", s.dir + "/k.pid", "-r", s.dir + "/v.pid", "-c", s.dir + "/c.pid"}
		if name == "keepalived" {
			s.p = s.ns.Start(bin, append([]string{"-n", "-l", "-D", "-G", "-R", "-C", "-f", conf}, pids...)...)
		} else {
			s.p = s.ns.StartEnv([]string{"LVSROUTER_AS_MAIN=1"}, self, append([]string{"-C", "-l", "-f", conf}, pids...)...)
		}
		t.Cleanup(func() {
			s.p.Kill()
			if t.Failed() {
				t.Logf("%s log:\n%s", s.name, s.p.Output())
			}
		})
		sides = append(sides, s)
	}
	runs := func(s *side) int {
		b, _ := os.ReadFile(filepath.Join(s.dir, "runs"))
		return strings.Count(string(b), "run\n")
	}
	table := func(s *side) string {
		c, err := ipvs.Dial(context.Background(), &ipvs.Config{NetNS: s.ns.Path()})
		if err != nil {
			return "error: " + err.Error()
		}
		defer c.Close()
		svcs, err := c.Dump(context.Background())
		if err != nil {
			return "error: " + err.Error()
		}
		var lines []string
		for _, v := range svcs {
			lines = append(lines, fmt.Sprintf("%s %s %s", v.Protocol, v.Addr, v.Scheduler))
			for _, d := range v.Destinations {
				lines = append(lines, fmt.Sprintf("  -> %s %v %d", d.Addr, d.Forward, d.Weight))
			}
		}
		return strings.Join(lines, "\n")
	}
	// same waits until both tables equal want.
	same := func(step, want string) {
		t.Helper()
		if !waitFor(20*time.Second, func() bool { return table(sides[0]) == want && table(sides[1]) == want }) {
			t.Fatalf("%s: IPVS tables\nkeepalived:\n%s\nlvsrouter:\n%s\nwant:\n%s", step, table(sides[0]), table(sides[1]), want)
		}
		t.Logf("%s: both IPVS tables are\n%s", step, want)
	}
	// quiet checks that no side runs its check over 3 s.
	quiet := func(step string) {
		t.Helper()
		before := []int{runs(sides[0]), runs(sides[1])}
		time.Sleep(3 * time.Second)
		for i, s := range sides {
			if n := runs(s) - before[i]; n != 0 {
				t.Fatalf("%s: %s ran its check %d times while suspended", step, s.name, n)
			}
		}
		t.Logf("%s: no check ran in 3 s under either", step)
	}
	checking := func(step string) {
		t.Helper()
		before := []int{runs(sides[0]), runs(sides[1])}
		if !waitFor(10*time.Second, func() bool { return runs(sides[0]) >= before[0]+2 && runs(sides[1]) >= before[1]+2 }) {
			t.Fatalf("%s: checks did not run: keepalived %d, lvsrouter %d more runs", step, runs(sides[0])-before[0], runs(sides[1])-before[1])
		}
		t.Logf("%s: both check", step)
	}
	vip := &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix("10.0.0.10/32"))}
	setVIP := func(on bool) {
		for _, s := range sides {
			lo, err := s.ns.Handle().LinkByName("lo")
			if err != nil {
				t.Fatal(err)
			}
			if on {
				err = s.ns.Handle().AddrAdd(lo, vip)
			} else {
				err = s.ns.Handle().AddrDel(lo, vip)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	with := "tcp 10.0.0.10:80 rr\n  -> 10.1.0.11:80 Masq 1"
	without := "tcp 10.0.0.10:80 rr"
	same("start, VIP absent", with)
	quiet("start, VIP absent")

	setVIP(true)
	checking("VIP added")
	for _, s := range sides {
		os.Remove(filepath.Join(s.dir, "up"))
	}
	same("VIP local, server failing", without)

	setVIP(false)
	time.Sleep(1500 * time.Millisecond) // a check in flight ends
	for _, s := range sides {
		mustWrite(t, filepath.Join(s.dir, "up"), nil)
	}
	quiet("VIP removed, server recovered")
	same("VIP removed, server recovered", without)

	setVIP(true)
	checking("VIP back")
	same("VIP back", with)
}
