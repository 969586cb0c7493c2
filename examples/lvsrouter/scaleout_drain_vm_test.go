//go:build vm

package main

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"golang.org/x/sys/unix"
)

// TestVMScaleOutDrain traces where a SIGTERM stall comes from: the
// scale-out lab with three directors up and the client's flows open, a
// step without any event (what the guest's load alone costs), then
// director 0 and later director 1 stopped with SIGTERM (three paths to two,
// two to one). Each step reports, besides TestVMScaleOut's figures: the
// longest gap of the flows that moved off the stopped director and of
// those that stayed where they were; which flows had TCP retransmissions
// (the client's TCP_INFO, no capture needed); every namespace's IP/TCP
// counters that changed (lost, unroutable or reset packets); and the
// stopped director's timeline against the kernel route at the upstream
// (SIGTERM, withdraw sent, route changed, IPVS released, exit). A flow
// that stays on a director and stalls as long as one that moved says the
// stall is the guest's load, not the drain. Assertions are
// TestVMScaleOut's: 0 flows broken at every step.
func TestVMScaleOutDrain(t *testing.T) {
	testenv.NeedVM(t)
	// 100 flows by default: the load at which the single-vCPU guest
	// answers every flow's requests on time, so a stall is the drain's;
	// TestVMScaleOut runs the 1,000.
	nFlows := envInt("LVSKIT_SCALEOUT_FLOWS", 100)
	interval := envDuration("LVSKIT_SCALEOUT_INTERVAL", 100*time.Millisecond)
	settle := envDuration("LVSKIT_SCALEOUT_SETTLE", 3*time.Second)
	if os.Getenv("LVSKIT_SCALEOUT_CHECK_TIMEOUT") == "" {
		t.Setenv("LVSKIT_SCALEOUT_CHECK_TIMEOUT", "5")
	}
	l := newScaleOutLab(t, 3, 3)
	if b, err := os.ReadFile("/proc/sys/net/core/netdev_max_backlog"); err == nil {
		t.Logf("guest: netdev_max_backlog %s", strings.TrimSpace(string(b)))
	}
	if out, err := l.client.Command(t.Context(), "sysctl", "-n", "net.core.txrehash").CombinedOutput(); err == nil {
		t.Logf("client: net.core.txrehash %s", strings.TrimSpace(string(out)))
	}
	all := []netip.Addr{soReal(0), soReal(1), soReal(2)}
	nss := map[string]*netns.NS{"client": l.client, "router": l.up.NS}
	for i, d := range l.dirs {
		nss["director"+strconv.Itoa(i)] = d.ns
	}
	for i, ns := range l.realNS {
		nss["real"+strconv.Itoa(i)] = ns
	}
	// Each load in one guest: $LVSKIT_SCALEOUT_DRAIN_LOADS, e.g. "100,300,1000".
	loads := []int{nFlows}
	if v := os.Getenv("LVSKIT_SCALEOUT_DRAIN_LOADS"); v != "" {
		loads = nil
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				t.Fatalf("LVSKIT_SCALEOUT_DRAIN_LOADS: %q", v)
			}
			loads = append(loads, n)
		}
	}
	for _, n := range loads {
		for _, d := range l.dirs {
			if !d.running() {
				d.start()
			}
		}
		for _, d := range l.dirs {
			d.waitService(all...)
		}
		l.waitRoute(60*time.Second, 0, 1, 2)
		time.Sleep(settle)
		fs := openFlows(t, l.client, n, interval)
		t.Logf("%d flows open, by real server %v", len(fs.all), fs.servers())
		time.Sleep(settle)
		l.drainSteps(t, fs, nss, fmt.Sprintf("%d flows: ", n), settle)
		fs.close()
	}
}

// drainSteps runs TestVMScaleOutDrain's steps on open flows: steady, then
// SIGTERM to director 0 and to director 1.
func (l *scaleOutLab) drainSteps(t *testing.T, fs *flows, nss map[string]*netns.NS, prefix string, settle time.Duration) {
	step := func(name string, stopped int, fn func() time.Time) {
		t.Helper()
		onDir := map[uint16]int{}
		seen := map[uint16]int{}
		for i, d := range l.dirs {
			if d.running() {
				for _, p := range establishedConns(t, d.ns) {
					onDir[p] = i
					seen[p]++
				}
			}
		}
		multi := 0
		for _, n := range seen {
			if n > 1 {
				multi++
			}
		}
		t.Logf("%s: before the step, %d client ports ESTABLISHED on more than one director (a flow that changed director)", name, multi)
		ctr := snapshotCounters(t, nss)
		retr := fs.retrans()
		was := fs.mark()
		t0 := time.Now()
		ev := fn()
		time.Sleep(settle)
		s := fs.stats(was)
		t.Logf("%s: %v", name, s)
		if s.broken != 0 {
			t.Errorf("%s: %d flows broken, want 0", name, s.broken)
		}
		// The flows by where they were before the step.
		type class struct {
			n, over200, over1s, retrans int
			max                         time.Duration
		}
		classes := map[string]*class{}
		var stalled []*flow
		after := fs.retrans()
		for _, f := range fs.all {
			f.mu.Lock()
			gap := f.maxGap
			f.mu.Unlock()
			port := uint16(f.c.LocalAddr().(*net.TCPAddr).Port)
			k := "unknown director"
			if i, ok := onDir[port]; ok {
				k = "stayed on director " + strconv.Itoa(i)
				if i == stopped {
					k = "moved off director " + strconv.Itoa(i)
				}
			}
			c := classes[k]
			if c == nil {
				c = &class{}
				classes[k] = c
			}
			c.n++
			c.max = max(c.max, gap)
			if gap > 200*time.Millisecond {
				c.over200++
			}
			if gap > time.Second {
				c.over1s++
			}
			if after[f].Total_retrans > retr[f].Total_retrans {
				c.retrans++
			}
			stalled = append(stalled, f)
		}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range classes {
				if !yield(k) {
					return
				}
			}
		}) {
			c := classes[k]
			t.Logf("%s: %d flows %s: longest gap %v, %d over 200 ms, %d over 1 s, %d retransmitted",
				name, c.n, k, c.max.Round(time.Millisecond), c.over200, c.over1s, c.retrans)
		}
		slices.SortFunc(stalled, func(a, b *flow) int { return int(b.maxGap - a.maxGap) })
		for _, f := range stalled[:min(5, len(stalled))] {
			port := uint16(f.c.LocalAddr().(*net.TCPAddr).Port)
			dir, ok := onDir[port]
			if !ok {
				dir = -1
			}
			ti := after[f]
			t.Logf("%s: flow :%d (director %d, %s) gap %v from %+v to %+v ms after t0; retransmits %d in the step, rto %v, rtt %v, backoff %d",
				name, port, dir, f.server, f.maxGap.Round(time.Millisecond),
				f.gapFrom.Sub(t0).Milliseconds(), f.gapTo.Sub(t0).Milliseconds(),
				ti.Total_retrans-retr[f].Total_retrans, time.Duration(ti.Rto)*time.Microsecond,
				time.Duration(ti.Rtt)*time.Microsecond, ti.Backoff)
		}
		t.Logf("%s: counters that changed:\n%s", name, diffCounters(ctr, snapshotCounters(t, nss)))
		l.fib.mu.Lock()
		for _, e := range l.fib.events {
			if e.at.After(t0) {
				t.Logf("%s: +%d ms the upstream's kernel route to the VIP: %v", name, e.at.Sub(t0).Milliseconds(), e.hops)
			}
		}
		l.fib.mu.Unlock()
		if stopped >= 0 {
			for _, line := range strings.Split(l.dirs[stopped].proc.Output(), "\n") {
				if at, ok := logTime(line); ok && !at.Before(t0) && (strings.Contains(line, "bgp") || strings.Contains(line, "ipvs") || strings.Contains(line, "stop")) {
					t.Logf("%s: +%d ms director %d: %s", name, at.Sub(t0).Milliseconds(), stopped, line)
				}
			}
			t.Logf("%s: +%d ms director %d exited", name, ev.Sub(t0).Milliseconds(), stopped)
		}
	}
	step(prefix+"steady", -1, func() time.Time { return time.Time{} })
	for _, i := range []int{0, 1} {
		step(fmt.Sprintf("%sSIGTERM director %d", prefix, i), i, func() time.Time {
			l.dirs[i].proc.Signal(syscall.SIGTERM)
			select {
			case <-l.dirs[i].proc.Done():
			case <-time.After(30 * time.Second):
				t.Errorf("director %d did not exit within 30 s of SIGTERM", i)
			}
			return time.Now()
		})
	}
	l.checkRoute("after the SIGTERMs", 2)
}

// establishedConns returns the client ports of the namespace's
// ESTABLISHED IPVS connections to the VIP (closed flows of an earlier
// round linger in other states).
func establishedConns(t *testing.T, ns *netns.NS) []uint16 {
	t.Helper()
	out, err := ns.Command(t.Context(), "cat", "/proc/net/ip_vs_conn").Output()
	if err != nil {
		t.Fatal(err)
	}
	var ports []uint16
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || f[0] != "TCP" || f[7] != "ESTABLISHED" {
			continue
		}
		if p, err := strconv.ParseUint(f[2], 16, 16); err == nil {
			ports = append(ports, uint16(p))
		}
	}
	return ports
}

// running reports whether the director's lvsrouter runs.
func (d *director) running() bool {
	if d.proc == nil {
		return false
	}
	select {
	case <-d.proc.Done():
		return false
	default:
		return true
	}
}

// retrans returns each healthy flow's TCP_INFO (client side).
func (fs *flows) retrans() map[*flow]unix.TCPInfo {
	m := map[*flow]unix.TCPInfo{}
	for _, f := range fs.all {
		tc, ok := f.c.(*net.TCPConn)
		if !ok {
			continue
		}
		rc, err := tc.SyscallConn()
		if err != nil {
			continue
		}
		rc.Control(func(fd uintptr) {
			if ti, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
				m[f] = *ti
			}
		})
	}
	return m
}

// snapshotCounters reads /proc/net/snmp and /proc/net/netstat in each
// namespace ("ns Tcp.RetransSegs" -> value) and the kernel's per-CPU
// backlog drops (/proc/net/softnet_stat's second column, all CPUs).
func snapshotCounters(t *testing.T, nss map[string]*netns.NS) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for name, ns := range nss {
		out, err := ns.Command(t.Context(), "cat", "/proc/net/snmp", "/proc/net/netstat").Output()
		if err != nil {
			t.Logf("counters of %s: %v", name, err)
			continue
		}
		var head []string
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 2 {
				continue
			}
			if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
				head = f
				continue
			}
			if len(head) != len(f) || head[0] != f[0] {
				continue
			}
			for i := 1; i < len(f); i++ {
				v, _ := strconv.ParseInt(f[i], 10, 64)
				m[name+" "+strings.TrimSuffix(f[0], ":")+"."+head[i]] = v
			}
		}
	}
	if b, err := os.ReadFile("/proc/net/softnet_stat"); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if f := strings.Fields(line); len(f) > 1 {
				v, _ := strconv.ParseInt(f[1], 16, 64)
				m["kernel softnet.dropped"] += v
			}
		}
	}
	return m
}

// diffCounters lists the counters that tell of lost, unroutable, reset or
// retransmitted packets and changed between two snapshots.
func diffCounters(a, b map[string]int64) string {
	interesting := []string{"Retrans", "Timeout", "Loss", "Lost", "Drop", "Discard", "NoRoutes", "AddrErrors",
		"Unreach", "Rst", "Resets", "Fails", "Backlog", "Prune", "SpuriousRTO", "DSACK", "OFO", "dropped"}
	var out []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range b {
			if !yield(k) {
				return
			}
		}
	}) {
		if b[k] == a[k] {
			continue
		}
		for _, w := range interesting {
			if strings.Contains(k, w) {
				out = append(out, fmt.Sprintf("  %s +%d", k, b[k]-a[k]))
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// logTime reads the time= field of one of lvsrouter's log lines.
func logTime(line string) (time.Time, bool) {
	i := strings.Index(line, "time=")
	if i < 0 {
		return time.Time{}, false
	}
	f := strings.Fields(line[i+len("time="):])
	if len(f) == 0 {
		return time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, f[0])
	return at, err == nil
}
