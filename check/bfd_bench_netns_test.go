//go:build netns

package check_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
)

// procCPU returns the user+system CPU time of pid from /proc.
func procCPU(tb testing.TB, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ
}

// procRSS returns VmRSS of pid in MiB.
func procRSS(tb testing.TB, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, _ := strconv.Atoi(strings.Fields(l)[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkBFDNetns100SessionsBesideFRR runs 100 sessions at 50 ms × 3
// between a BFDManager and FRR's bfdd (which runs the same 100 sessions
// from its side), while one busy loop hogs a core, and reports each one's
// CPU (percent of one core) and resident memory over a 10 s window, and
// the sessions each saw go down. A false Down on our side fails it.
func BenchmarkBFDNetns100SessionsBesideFRR(b *testing.B) {
	const n = 100
	tp := newBFDTopo(b)
	var conf strings.Builder
	conf.WriteString("bfd\n")
	var peers []netip.Prefix
	// bfdd tells its sessions apart by peer address: our side has the
	// hundred addresses, and tells its sessions apart by local address.
	for i := range n {
		a := netip.AddrFrom4([4]byte{10, 0, 1, byte(100 + i)})
		peers = append(peers, netip.PrefixFrom(a, 24))
		fmt.Fprintf(&conf, " peer %s local-address %s\n  receive-interval 50\n  transmit-interval 50\n  detect-multiplier 3\n !\n", a, addrR4)
	}
	conf.WriteString("!\n")
	tp.A.AddAddr("a0", peers...)
	d := startBFDD(b, tp.R, conf.String())
	ev := newEvents()
	m := startManager(b, tp.A, ev)
	var names []string
	for i, p := range peers {
		name := fmt.Sprintf("s%d", i)
		names = append(names, name)
		if err := m.Add(name, check.BFDSessionConfig{Peer: addrR4, Local: p.Addr(), DesiredMinTx: 50 * time.Millisecond, RequiredMinRx: 50 * time.Millisecond, DetectMult: 3}); err != nil {
			b.Fatal(err)
		}
	}
	waitStates(b, m, check.BFDUp, 30*time.Second, names...)
	time.Sleep(time.Second) // poll sequences settle
	for _, p := range d.peers(b) {
		if p.Status != "up" {
			b.Fatalf("bfdd: %+v", p)
		}
	}
	hog := exec.Command("sh", "-c", "while :; do :; done")
	if err := hog.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { hog.Process.Kill(); hog.Wait() }()

	downs := func() (n uint64) {
		for _, s := range m.Sessions() {
			n += s.Counters.Downs
		}
		return n
	}
	const window = 10 * time.Second
	self, peer := os.Getpid(), d.proc.Cmd.Process.Pid
	// ip netns exec execs bfdd in place, so the process is bfdd itself.
	downs0 := downs()
	c0, p0 := procCPU(b, self), procCPU(b, peer)
	b.ResetTimer()
	time.Sleep(window)
	b.StopTimer()
	c1, p1 := procCPU(b, self), procCPU(b, peer)
	falseDowns := downs() - downs0
	frrDown := 0
	for _, p := range d.peers(b) {
		if p.Status != "up" {
			frrDown++
		}
	}
	b.ReportMetric(float64(c1-c0)/float64(window)*100, "lvskit-cpu-%")
	b.ReportMetric(float64(p1-p0)/float64(window)*100, "bfdd-cpu-%")
	b.ReportMetric(procRSS(b, self), "lvskit-rss-MiB")
	b.ReportMetric(procRSS(b, peer), "bfdd-rss-MiB")
	b.ReportMetric(float64(falseDowns), "lvskit-false-downs")
	b.ReportMetric(float64(frrDown), "bfdd-sessions-not-up")
	if falseDowns > 0 {
		b.Errorf("%d false Downs while a busy loop hogged a core: %v", falseDowns, ev.all)
	}
	_ = syscall.Getpid
	_ = context.Background
}
