//go:build vm

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// TestVMDataDumpDifferential runs keepalived (both processes) and
// lvsrouter on the demo's configuration, each alone in its own copy of
// the demo network (so each becomes MASTER and programs IPVS), signals
// both with SIGUSR1 and compares keepalived.data, keepalived_check.data
// and keepalived_parent.data line by line. Excepted: keepalived's lines
// about its build (nftables counters, libnftnl version) and umask, which
// lvsrouter does not print; in the VRRP topology lvsrouter prints a subset
// of keepalived's lines (it has no sockets, timers or fd numbers), each
// equal to keepalived's, with the transition time excepted.
func TestVMDataDumpDifferential(t *testing.T) {
	testenv.NeedVM(t)
	// The harness copies keepalived into the guest when the host has it.
	bin := testenv.NeedTool(t, "keepalived")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]string{}
	procs := map[string]*netns.Process{}
	for _, name := range []string{"keepalived", "lvsrouter"} {
		d := newDemoNet(t)
		dir := t.TempDir()
		dirs[name] = dir
		conf := filepath.Join(dir, "keepalived.conf")
		mustWrite(t, conf, fmt.Appendf(nil, routerConf, "r1", "MASTER", 150))
		pids := []string{"-p", dir + "/k.pid", "-r", dir + "/v.pid", "-c", dir + "/c.pid"}
		if name == "keepalived" {
			procs[name] = d.r1.StartEnv([]string{"TMPDIR=" + dir}, bin, append([]string{"-n", "-l", "-G", "-R", "-f", conf}, pids...)...)
		} else {
			procs[name] = d.r1.StartEnv([]string{"TMPDIR=" + dir, "LVSROUTER_AS_MAIN=1"}, self, append([]string{"-f", conf}, pids...)...)
		}
		t.Cleanup(func() {
			if !t.Failed() {
				return
			}
			t.Logf("%s log:\n%s", name, procs[name].Output())
			for _, f := range []string{"keepalived.data", "keepalived_check.data", "keepalived_parent.data"} {
				b, _ := os.ReadFile(filepath.Join(dir, f))
				t.Logf("%s %s:\n%s", name, f, b)
			}
		})
	}
	// Both are MASTER after Master_Down_Interval (3.6 s) and their
	// checks have run (delay_loop 1).
	time.Sleep(7 * time.Second)
	for name, p := range procs {
		if err := p.Signal(syscall.SIGUSR1); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	read := func(name, file string) []string {
		var b []byte
		if !waitFor(10*time.Second, func() bool { b, _ = os.ReadFile(filepath.Join(dirs[name], file)); return len(b) > 0 }) {
			t.Fatalf("%s wrote no %s", name, file)
		}
		var out []string
		for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			if name == "keepalived" && (strings.HasPrefix(l, " nftables") || strings.HasPrefix(l, " libnftnl") || strings.HasPrefix(l, " umask")) {
				continue
			}
			out = append(out, l)
		}
		return out
	}
	for _, f := range []string{"keepalived_check.data", "keepalived_parent.data"} {
		k, l := read("keepalived", f), read("lvsrouter", f)
		for i := range max(len(k), len(l)) {
			var kl, ll string
			if i < len(k) {
				kl = k[i]
			}
			if i < len(l) {
				ll = l[i]
			}
			if kl != ll {
				t.Errorf("%s line %d: keepalived %q, lvsrouter %q", f, i+1, kl, ll)
				break
			}
		}
		t.Logf("%s: %d lines, equal", f, len(l))
	}
	// keepalived.data: the global section equal line by line; then
	// lvsrouter's VRRP topology lines found, in order, in keepalived's.
	k, l := read("keepalived", "keepalived.data"), read("lvsrouter", "keepalived.data")
	g := slices.Index(l, "------< VRRP Topology >------")
	kg := slices.Index(k, "------< VRRP Topology >------")
	if g < 0 || kg < 0 || !slices.Equal(k[:kg], l[:g]) {
		t.Fatalf("keepalived.data global sections differ:\nkeepalived\n%s\nlvsrouter\n%s", strings.Join(k[:max(kg, 0)], "\n"), strings.Join(l[:max(g, 0)], "\n"))
	}
	ki := kg
	for i, ll := range l[g:] {
		want, prefix := ll, false
		if strings.HasPrefix(ll, "   Last transition = ") {
			want, prefix = "   Last transition = ", true
		}
		for ki < len(k) && !(k[ki] == want || prefix && strings.HasPrefix(k[ki], want)) {
			ki++
		}
		if ki == len(k) {
			t.Fatalf("keepalived.data: lvsrouter's line %d %q is not in keepalived's VRRP topology (in order)", g+i+1, ll)
		}
		ki++
	}
	t.Logf("keepalived.data: global section equal (%d lines); lvsrouter's %d VRRP topology lines found in keepalived's", g, len(l)-g)
}
