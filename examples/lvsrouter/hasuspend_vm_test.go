//go:build vm

package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// TestVMSplitPairHASuspend runs the demo with ha_suspend: on r1 a
// lvsrouter -P (BACKUP, 100) and a lvsrouter -C on the same config, r2 a
// full lvsrouter MASTER (150). While r2 holds the VIP, r1's -C process has
// its checkers suspended (its SIGUSR1 dump says "Enabled = no"), though
// its IPVS service is in place; when r2 stops, r1's -P process takes the
// VIP and the -C process, following the address events as keepalived's
// checker follows its VRRP child, resumes them ("Enabled = yes").
func TestVMSplitPairHASuspend(t *testing.T) {
	testenv.NeedVM(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	d := newDemoNet(t)
	vip := netip.MustParseAddr("10.0.0.10")
	start := func(ns *netns.NS, name, state string, prio int, args ...string) (*netns.Process, string) {
		dir := t.TempDir()
		conf := filepath.Join(dir, "keepalived.conf")
		text := strings.Replace(fmt.Sprintf(routerConf, name, state, prio), "    delay_loop 1\n", "    delay_loop 1\n    ha_suspend\n", 1)
		mustWrite(t, conf, []byte(text))
		argv := append([]string{"-f", conf, "-l", "-p", dir + "/k.pid", "-r", dir + "/v.pid", "-c", dir + "/c.pid"}, args...)
		p := ns.StartEnv([]string{"LVSROUTER_AS_MAIN=1", "TMPDIR=" + dir}, self, argv...)
		t.Cleanup(func() {
			p.Kill()
			if t.Failed() {
				t.Logf("%s %v log:\n%s", name, args, p.Output())
			}
		})
		return p, dir
	}
	start(d.r1, "r1", "BACKUP", 100, "-P")
	pc, cdir := start(d.r1, "r1", "BACKUP", 100, "-C")
	p2, _ := start(d.r2, "r2", "MASTER", 150)
	// enabled dumps r1's checker process and returns its Enabled lines.
	enabled := func() []string {
		f := filepath.Join(cdir, "keepalived_check.data")
		os.Remove(f)
		if err := pc.Signal(syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		var b []byte
		if !waitFor(10*time.Second, func() bool { b, _ = os.ReadFile(f); return len(b) > 0 }) {
			t.Fatal("r1 -C wrote no keepalived_check.data")
		}
		var out []string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "Enabled = ") {
				out = append(out, strings.TrimSpace(l))
			}
		}
		return out
	}
	all := func(lines []string, want string) bool {
		for _, l := range lines {
			if l != want {
				return false
			}
		}
		return len(lines) == 2
	}
	if !waitFor(30*time.Second, func() bool { return hasAddr(d.r2, vip) && !hasAddr(d.r1, vip) }) {
		t.Fatalf("r2 did not become master (r1 %v, r2 %v)", hasAddr(d.r1, vip), hasAddr(d.r2, vip))
	}
	if !waitFor(30*time.Second, func() bool { return ipvsDestCount(d.r1) == 2 }) {
		t.Fatalf("r1 -C has no IPVS service with both servers (%d)", ipvsDestCount(d.r1))
	}
	var got []string
	if got = enabled(); !all(got, "Enabled = no") {
		t.Fatalf("r2 master: r1's checkers %v, want both suspended", got)
	}
	t.Logf("r2 master: r1 -C has IPVS in place and its checkers suspended: %v", got)

	p2.Signal(syscall.SIGTERM)
	if !waitFor(30*time.Second, func() bool { return hasAddr(d.r1, vip) }) {
		t.Fatal("r1 -P did not take the VIP after r2 stopped")
	}
	if !waitFor(10*time.Second, func() bool { got = enabled(); return all(got, "Enabled = yes") }) {
		t.Fatalf("r1 master: r1's checkers %v, want both running", got)
	}
	t.Logf("r2 stopped: r1 -P took the VIP, r1 -C resumed its checkers: %v", got)
}
