//go:build vm

package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/ipvs"
)

// init profiles the router's start when the test binary runs as the
// router with LVSKIT_CPUPROFILE=FILE (set by runScale): the CPU profile
// covers exec to the end of the first load. LVSKIT_READGC=PERCENT is the
// collector's percent during the start's read (startReadGC),
// LVSKIT_LOADHEAP=N the first load's memory limit in live heaps
// (loadHeapPerLive), LVSKIT_READHEAP=N and LVSKIT_READMIN=MiB the read's
// limit (readHeapPerByte, readHeapMin), LVSKIT_APPLIEDGC=0 leaves out
// the collection once the first apply is made (appliedGC),
// LVSKIT_DESIREDCHUNK=N the destinations desired allocates at once
// (desiredChunk), LVSKIT_LOADINGFREE=0 keeps the read's freed memory for
// the load (loadingFree), LVSKIT_STREAMPIECE=N the services the first
// apply computes and streams at a time (streamPiece; 0: all at once), and
// LVSKIT_STARTREAD=full reads the file in full with the collector off, as
// the start did before its batched read, for LVSKIT_SCALE_AB.
func init() {
	if os.Getenv("LVSROUTER_AS_MAIN") == "1" {
		if v, err := strconv.Atoi(os.Getenv("LVSKIT_READGC")); err == nil {
			startReadGC = v
		}
		if v, err := strconv.ParseUint(os.Getenv("LVSKIT_LOADHEAP"), 10, 64); err == nil {
			loadHeapPerLive = v
		}
		if v, err := strconv.ParseInt(os.Getenv("LVSKIT_READHEAP"), 10, 64); err == nil {
			readHeapPerByte = v
		}
		if v, err := strconv.ParseInt(os.Getenv("LVSKIT_READMIN"), 10, 64); err == nil {
			readHeapMin = v << 20
		}
		if v, err := strconv.Atoi(os.Getenv("LVSKIT_DESIREDCHUNK")); err == nil {
			desiredChunk = v
		}
		if v, err := strconv.Atoi(os.Getenv("LVSKIT_STREAMPIECE")); err == nil {
			streamPiece = v
		}
		if os.Getenv("LVSKIT_LOADINGFREE") == "0" {
			loadingFree = false
		}
		if os.Getenv("LVSKIT_APPLIEDGC") == "0" {
			appliedGC = false
		}
		if os.Getenv("LVSKIT_STARTREAD") == "full" {
			readBatchMin = 1 << 30
		}
	}
	f := os.Getenv("LVSKIT_CPUPROFILE")
	if os.Getenv("LVSROUTER_AS_MAIN") != "1" || f == "" {
		return
	}
	w, err := os.Create(f)
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(w); err != nil {
		panic(err)
	}
	startedHook = func() {
		pprof.StopCPUProfile()
		w.Close()
	}
}

// printProfile prints the file at path base64-encoded on lines starting
// "PPROF ": the guest has no way back to the host but its output.
// Decode with: grep '^PPROF ' out | cut -c7- | base64 -d > cpu.pprof
func printProfile(path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Printf("profile: %v\n", err)
		return
	}
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 0 {
		n := min(len(enc), 76)
		fmt.Printf("PPROF %s\n", enc[:n])
		enc = enc[n:]
	}
}

// scaleRun is one router's figures.
type scaleRun struct {
	start  time.Duration // exec to the last destination in the kernel
	reload time.Duration // SIGHUP to the edited weight in the kernel (the median)
	// reloads are every reload's figure (-1: not seen), signals when
	// each reload's SIGHUP was sent.
	reloads []time.Duration
	signals []time.Time
	// startKiB is the peak RSS of the router's processes together once
	// started, rssKiB the same after the reload.
	startKiB, rssKiB int64
	log              string
}

// scaleNS makes a fresh namespace (a fresh IPVS state: no dest trash from
// an earlier run) with lo up and the four real servers listening on it.
func scaleNS(b *testing.B) *netns.NS {
	ns := netns.New(b)
	ns.LinkUp("lo")
	for j := 1; j <= scaleReals; j++ {
		ns.AddAddr("lo", netip.PrefixFrom(scaleReal(j).Addr(), 32))
	}
	err := ns.Do(func() error {
		// Room for a burst of 40,000 check connections; Go reads
		// somaxconn once, at the first listen, so both routers' real
		// servers get the same backlog.
		for _, f := range []string{"/proc/sys/net/core/somaxconn", "/proc/sys/net/ipv4/tcp_max_syn_backlog"} {
			if err := os.WriteFile(f, []byte("65535"), 0o644); err != nil {
				return err
			}
		}
		for j := 1; j <= scaleReals; j++ {
			ln, err := net.Listen("tcp", scaleReal(j).String())
			if err != nil {
				return err
			}
			b.Cleanup(func() { ln.Close() })
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return ns
}

// scalePoll is how often scaleWait looks at the kernel.
const scalePoll = 20 * time.Millisecond

// scaleWait waits (bounded) until every service holds all its
// destinations. The watcher must not slow down the router it times: the
// guest has one CPU, and a walk polling service after service every 2 ms
// (as this did until 2026-12-06) took a third of it from both routers, and
// its netlink requests contended with theirs for the IPVS mutex. So it
// polls one service, the last in configuration order (both routers add in
// that order), every scalePoll; once that one is complete it checks every
// service once, and polls a service it finds incomplete until complete.
// The time returned is when the last incomplete service was seen complete,
// within scalePoll of it.
//
// A router that says in its log when an apply has put every destination in
// the kernel (lvsrouter's "msg=ipvs ... add-server=40000") is done when the
// line appears, even if a check has taken a server out since.
func scaleWait(ctx context.Context, c *ipvs.Client, p *netns.Process, limit time.Duration) (time.Time, error) {
	deadline := time.Now().Add(limit)
	applied := fmt.Sprintf("msg=ipvs changes=%d add-service=%d ", scaleServices*(scaleReals+1), scaleServices)
	complete := func(i int) (bool, error) {
		ds, err := c.Destinations(ctx, scaleVS(i))
		return err == nil && len(ds) == scaleReals, err
	}
	// wait polls service i until complete, and sets done to when it
	// was; when the router's log says all is applied, done stays at when
	// the last service was seen complete (the operations are applied in
	// order), or is now if it was not yet.
	var done time.Time
	logged := func() bool { return strings.Contains(p.Output(), applied) }
	wait := func(i int) error {
		for {
			if logged() {
				if done.IsZero() {
					done = time.Now()
				}
				return nil
			}
			ok, err := complete(i)
			if ok {
				done = time.Now()
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("service %d of %d still incomplete after %v (%v)", i, scaleServices, limit, err)
			}
			time.Sleep(scalePoll)
		}
	}
	if err := wait(scaleServices - 1); err != nil || logged() {
		return done, err
	}
	// One dump finds the services still incomplete, if any (a router
	// adding out of order).
	svcs, err := c.Dump(ctx)
	if err != nil {
		return time.Time{}, err
	}
	n := make(map[ipvs.ServiceKey]int, len(svcs))
	for _, s := range svcs {
		n[s.Key()] = len(s.Destinations)
	}
	for i := 0; i < scaleServices-1; i++ {
		if s := scaleVS(i); n[s.Key()] == scaleReals {
			continue
		}
		if err := wait(i); err != nil || logged() {
			return done, err
		}
	}
	return done, nil
}

// scaleWeight waits (bounded) until the edited real server has weight w.
// It asks for the one service's destinations every millisecond: the
// figure it times is then within about a millisecond and a netlink
// round trip of the kernel change, well under the 100 ms it is held to,
// and it is not the floor: a reload runs ahead of it (reload_inc_boost.go)
// and takes the CPU it needs, so the watcher takes only what is left.
// Once the change is in, the watcher competes with the guest's checks and
// their real servers: lvsrouter's log put the change 2 to 15 ms before
// the watcher saw it (2026-12-06). A watcher thread at nice -5 did not
// see it sooner (the test process's one P is shared with the real
// servers' accept loops) and slowed the reload by its polls.
func scaleWeight(ctx context.Context, c *ipvs.Client, w int, limit time.Duration) (time.Time, error) {
	deadline := time.Now().Add(limit)
	for {
		ds, err := c.Destinations(ctx, scaleVS(scaleEdited))
		for _, d := range ds {
			if d.Addr == scaleReal(1) && d.Weight == w {
				return time.Now(), nil
			}
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("weight %d not in the kernel after %v (%v)", w, limit, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// groupHWMKiB sums VmHWM (peak RSS) over the processes of process group
// pgid: keepalived's parent, checker and VRRP processes, or lvsrouter.
func groupHWMKiB(pgid int) int64 {
	var sum int64
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 3 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		status, _ := os.ReadFile(d + "/status")
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				sum += n
			}
		}
	}
	return sum
}

// runScale starts one router on the generated config in a fresh
// namespace, measures its start, then (unless warmUp) reloads it with the
// edited weight changed from 1 to 3 and measures that, and stops it.
func runScale(b *testing.B, name string, argv []string, env []string, warmUp bool) scaleRun {
	ctx := b.Context()
	// What the run before left running (its process's exit, sockets
	// closing, the kernel freeing 50,000 IPVS objects) would take the
	// one vCPU from this run: start on a quiet guest.
	waitQuiet(b, name)
	ns := scaleNS(b)
	dir := b.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, scaleConf(1), 0o644); err != nil {
		b.Fatal(err)
	}
	c, err := ipvs.Dial(ctx, &ipvs.Config{NetNS: ns.Path()})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	argv = slices.Clone(argv)
	for i, a := range argv {
		argv[i] = strings.ReplaceAll(a, "$DIR", dir)
	}
	env = slices.Clone(env)
	for i, a := range env {
		env[i] = strings.ReplaceAll(a, "$DIR", dir)
	}
	var r scaleRun
	// LVSKIT_CPUPROFILE=1 prints a CPU profile of lvsrouter's start.
	profile := ""
	if os.Getenv("LVSKIT_CPUPROFILE") == "1" && name == "lvsrouter" {
		profile = filepath.Join(dir, "cpu.pprof")
		env = append(slices.Clip(env), "LVSKIT_CPUPROFILE="+profile)
	}
	t0 := time.Now()
	p := ns.StartEnv(env, argv[0], argv[1:]...)
	done, err := scaleWait(ctx, c, p, 5*time.Minute)
	if err != nil {
		b.Fatalf("%s: %v\nlog tail:\n%s", name, err, tail(p.Output()))
	}
	r.start = done.Sub(t0)
	// Let the start finish its bookkeeping (checks registered) before
	// reading its peak.
	time.Sleep(500 * time.Millisecond)
	r.startKiB = groupHWMKiB(p.Cmd.Process.Pid)
	if profile != "" {
		printProfile(profile)
	}
	if warmUp {
		fmt.Printf("warm-up %s: start %v\n", name, r.start)
		p.Kill()
		if err := c.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		return r
	}
	// keepalived reloads once; lvsrouter LVSKIT_RELOADS times (default
	// 1) in the same process, the edited weight going 1 -> 3 -> 1 ...,
	// each timed from its signal to the new weight in the kernel, with
	// reloadPause between them so that the checks run as usual.
	n := 1
	if name == "lvsrouter" {
		n = scaleReloads(b)
	}
	// LVSKIT_WATCH_NICE=N runs this process (the watcher and the real
	// servers) at nice N while the reloads are timed: at 0 the watcher
	// waits for the CPU behind the router's nice-0 threads once the
	// reload's boost ends (12-25 ms after the kernel's ack, 2026-12-07).
	if v := os.Getenv("LVSKIT_WATCH_NICE"); v != "" {
		nice, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("LVSKIT_WATCH_NICE=%q", v)
		}
		defer setProcessNice(b, nice)()
	}
	var t1 time.Time
	for i := range n {
		if i > 0 {
			time.Sleep(reloadPause)
		}
		w := 3
		if i%2 == 1 {
			w = 1
		}
		if err := os.WriteFile(conf, scaleConf(w), 0o644); err != nil {
			b.Fatal(err)
		}
		t1 = time.Now()
		p.Signal(syscall.SIGHUP)
		done, err = scaleWeight(ctx, c, w, time.Minute)
		if err != nil {
			// Reported as a negative time: keepalived 2.2.7 leaves an edited
			// weight alone on reload (its checkers restart instead).
			b.Logf("%s reload: %v\nlog tail:\n%s", name, err, tail(p.Output()))
			r.reloads = append(r.reloads, -1)
			r.signals = append(r.signals, t1)
			break
		}
		r.reloads = append(r.reloads, done.Sub(t1))
		r.signals = append(r.signals, t1)
		fmt.Printf("%s reload %d: %v (SIGHUP at %s)\n", name, i+1, done.Sub(t1), t1.UTC().Format(time.RFC3339Nano))
	}
	r.reload = median(r.reloads)
	b.Logf("%s: start %v, reload %v (median of %d)", name, r.start, r.reload, len(r.reloads))
	// Let a reload finish its bookkeeping (log lines) before reading.
	time.Sleep(500 * time.Millisecond)
	if name == "lvsrouter" {
		// Its timeline: configuration read, IPVS applied (desired state
		// and kernel times, the CPU time in user space and in the
		// kernel), checks registered, reload; and the collector's lines
		// when run with GODEBUG=gctrace=1.
		for _, line := range strings.Split(p.Output(), "\n") {
			for _, m := range []string{"msg=\"configuration read\"", "msg=ipvs ", "msg=checks ", "msg=started", "msg=reload", "msg=vrrp ", "msg=memory ", "gc "} {
				if strings.Contains(line, m) {
					// Printed, not logged: the testing package keeps
					// only ten lines of a benchmark's log.
					fmt.Printf("%s: %s\n", name, line)
					break
				}
			}
		}
		printReloadTraces(p.Output(), r.signals)
	}
	if slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "LVSKIT_RELOAD_PROFILE=") }) {
		// The router profiles for the second after the signal: wait
		// for the profile to be written.
		time.Sleep(time.Until(t1.Add(1500 * time.Millisecond)))
	}
	if prof, err := os.ReadFile(filepath.Join(dir, "reload.prof")); err == nil {
		// reload_prof_vm_test.go's profile, for the host's go tool pprof.
		fmt.Printf("%s-profile: %s\n", name, base64.StdEncoding.EncodeToString(prof))
	}
	r.rssKiB = groupHWMKiB(p.Cmd.Process.Pid)
	r.log = p.Output()
	p.Kill()
	// Remove the services now, synchronously: the kernel's service table
	// is shared by all namespaces.
	if err := c.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	return r
}

// waitQuiet waits, up to quietLimit, until the guest's CPUs were idle for
// at least quietIdle of quietWindow, and prints how long that took.
func waitQuiet(b *testing.B, name string) {
	t0 := time.Now()
	prevIdle, prevTotal := cpuStat(b)
	for {
		time.Sleep(quietWindow)
		idle, total := cpuStat(b)
		frac := float64(idle-prevIdle) / float64(max(total-prevTotal, 1))
		prevIdle, prevTotal = idle, total
		if frac >= quietIdle || time.Since(t0) > quietLimit {
			fmt.Printf("%s: guest quiet (%.0f %% idle) after %v\n", name, 100*frac, time.Since(t0).Round(time.Millisecond))
			return
		}
	}
}

const (
	quietWindow = 500 * time.Millisecond
	quietIdle   = 0.9
	quietLimit  = 30 * time.Second
)

// cpuStat returns the idle (idle + iowait) and total jiffies of
// /proc/stat's cpu line.
func cpuStat(b *testing.B) (idle, total uint64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatal(err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	for i, f := range strings.Fields(line)[1:] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			b.Fatalf("/proc/stat: %q: %v", line, err)
		}
		total += v
		if i == 3 || i == 4 {
			idle += v
		}
	}
	return idle, total
}

// setProcessNice sets every thread of this process to nice n (threads
// made later inherit it from the thread making them), and returns what
// puts them back to 0.
func setProcessNice(b *testing.B, n int) (undo func()) {
	set := func(n int) {
		tasks, _ := os.ReadDir("/proc/self/task")
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err != nil {
				b.Logf("nice %d for thread %d: %v", n, tid, err)
			}
		}
	}
	set(n)
	return func() { set(0) }
}

// reloadPause is the pause between two of lvsrouter's reloads in one
// run: the checks run as usual in between (each reload's bookkeeping
// done, the collector free to run).
const reloadPause = time.Second

// scaleReloads is how many reloads lvsrouter's run makes:
// LVSKIT_RELOADS, 1 by default.
func scaleReloads(b *testing.B) int {
	s := os.Getenv("LVSKIT_RELOADS")
	if s == "" {
		return 1
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		b.Fatalf("LVSKIT_RELOADS=%q: want a count from 1 to 1000", s)
	}
	return n
}

// median is the median of ds (the mean of the middle two for an even
// count); a -1 (not seen) counts as the largest.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	for i, d := range s {
		if d < 0 {
			s[i] = time.Duration(1<<63 - 1)
		}
	}
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = s[len(s)/2-1]/2 + m/2
	}
	if m == time.Duration(1<<63-1) {
		return -1
	}
	return m
}

// reloadTimeline matches lvsrouter's debug line for one reload's critical
// path (reload_trace.go).
var reloadTimeline = regexp.MustCompile(`msg="reload timeline" woke=(\S+) (.*)`)

// reloadAcked matches the timeline's kernel ack of the reload's netlink
// operation.
var reloadAcked = regexp.MustCompile(` acked=(\S+)`)

// printReloadTraces prints each reload's timeline from lvsrouter's log,
// as offsets from the SIGHUP sent just before its wake-up, and the time
// from each signal to the kernel's ack of the reload's operation by the
// router's clock (the same clock as the signal's in the guest): the
// watcher sees the change later, by as long as it waits for the CPU.
func printReloadTraces(log string, signals []time.Time) {
	var acks []string
	for _, m := range reloadTimeline.FindAllStringSubmatch(log, -1) {
		woke, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			continue
		}
		i := len(signals) - 1
		for i >= 0 && signals[i].After(woke) {
			i--
		}
		if i < 0 {
			continue
		}
		fmt.Printf("lvsrouter timeline %d: woke=%v after the SIGHUP, then %s\n", i+1, woke.Sub(signals[i]).Round(time.Microsecond), m[2])
		if a := reloadAcked.FindStringSubmatch(m[2]); a != nil {
			if d, err := time.ParseDuration(a[1]); err == nil {
				acks = append(acks, fmt.Sprintf("%.1f", float64(woke.Sub(signals[i])+d)/1e6))
			}
		}
	}
	if len(acks) > 0 {
		fmt.Printf("lvsrouter signal to kernel ack (ms, router's log): %s\n", strings.Join(acks, " "))
	}
}

func tail(s string) string {
	if len(s) > 4000 {
		s = s[len(s)-4000:]
	}
	return s
}

// scalePeers runs keepalived then lvsrouter, each alone, on the same
// configuration; the measured lvsrouter with -D when debug is set.
func scalePeers(b *testing.B, debug bool) (ka, lr scaleRun) {
	testenv.NeedVM(b)
	testenv.NeedTool(b, "keepalived")
	// Both routers inherit a descriptor limit fit for 40,000 checks.
	lim := syscall.Rlimit{Cur: 1 << 20, Max: 1 << 20}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Logf("raising the descriptor limit: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	// While iterating, LVSKIT_SCALE_ONLY=lvsrouter skips keepalived (its
	// figures are then zero, and the ratios meaningless). keepalived runs
	// first; LVSKIT_SCALE_FIRST=lvsrouter runs it after lvsrouter, so
	// that the kernel's IPVS code TCG translated for the first run
	// favours keepalived instead.
	kaArgv := []string{"keepalived", "-n", "-G", "-R", "-f", "$DIR/keepalived.conf",
		"-p", "$DIR/keepalived.pid", "-c", "$DIR/checkers.pid", "-r", "$DIR/vrrp.pid"}
	keepalived := func() {
		if os.Getenv("LVSKIT_SCALE_ONLY") != "lvsrouter" {
			ka = runScale(b, "keepalived", kaArgv, nil, false)
			fmt.Printf("keepalived: start %v, peak RSS %.1f MiB\n", ka.start, float64(ka.startKiB)/1024)
		}
	}
	kaLast := os.Getenv("LVSKIT_SCALE_FIRST") == "lvsrouter"
	argv := []string{self, "-f", "$DIR/keepalived.conf"}
	// LVSKIT_LVSROUTER=PATH measures that lvsrouter program (make build's
	// bin/lvsrouter; LVSKIT_VM_TOOLS copies it into the guest) instead of
	// the test binary, which holds the tests' code and packages too: the
	// program users run. The test binary's knobs (LVSKIT_READGC ...,
	// LVSKIT_CPUPROFILE, LVSKIT_RELOAD_PROFILE) then have no effect.
	if p := os.Getenv("LVSKIT_LVSROUTER"); p != "" {
		argv = []string{p, "-l", "-G", "-p", "$DIR/lvsrouter.pid", "-r", "$DIR/lvsrouter-vrrp.pid",
			"-c", "$DIR/lvsrouter-checkers.pid", "-f", "$DIR/keepalived.conf"}
	}
	// Both are measured in a warm guest: each has started once on the
	// same configuration already, so that neither pays alone for the
	// first touch of the guest's memory or the first translation of the
	// kernel's IPVS code (lvsrouter run first took 7.2 s against 4.5 s
	// second, 2026-12-06). LVSKIT_SCALE_WARM=0 skips it.
	if os.Getenv("LVSKIT_SCALE_WARM") != "0" {
		runScale(b, "lvsrouter", argv, []string{"LVSROUTER_AS_MAIN=1"}, true)
		if os.Getenv("LVSKIT_SCALE_ONLY") != "lvsrouter" {
			runScale(b, "keepalived", kaArgv, nil, true)
		}
	}
	if !kaLast {
		keepalived()
	}
	// LVSKIT_SCALE_AB=NAME=VALUE also runs lvsrouter with that variable
	// (or those, separated by spaces),
	// in the same guest, before the plain run (or after it, with
	// LVSKIT_SCALE_AB_ORDER=after: in a TCG guest a later run finds the
	// kernel's and the binary's code translated already, and is faster),
	// and prints its figures beside the others'.
	ab := os.Getenv("LVSKIT_SCALE_AB")
	variant := func() {
		x := runScale(b, "lvsrouter", argv, append([]string{"LVSROUTER_AS_MAIN=1"}, strings.Fields(ab)...), false)
		fmt.Printf("lvsrouter with %s: start %v, peak RSS %.1f MiB\n", ab, x.start, float64(x.startKiB)/1024)
	}
	after := os.Getenv("LVSKIT_SCALE_AB_ORDER") == "after"
	if ab != "" && !after {
		variant()
	}
	env := []string{"LVSROUTER_AS_MAIN=1"}
	if os.Getenv("LVSKIT_RELOAD_PROFILE") != "" {
		// The router profiles the second after the reload's signal
		// (reload_prof_vm_test.go); runScale prints it.
		env = append(env, "LVSKIT_RELOAD_PROFILE=$DIR/reload.prof")
	}
	measured := argv
	if debug {
		// -D: the reload's timeline (reload_trace.go).
		measured = append(slices.Clip(argv), "-D")
	}
	lr = runScale(b, "lvsrouter", measured, env, false)
	fmt.Printf("lvsrouter: start %v, peak RSS %.1f MiB\n", lr.start, float64(lr.startKiB)/1024)
	if ab != "" && after {
		variant()
	}
	if kaLast {
		keepalived()
	}
	return ka, lr
}

// BenchmarkVMRouterStart10k starts keepalived 2.2.7 and lvsrouter, each
// alone in a fresh namespace, on 10,000 virtual servers × 4 TCP-checked
// real servers, and reports the wall time from exec to the last
// destination in the kernel and the peak RSS of each (keepalived's
// processes summed), with the ratios. LVSKIT_VM_CPUS=2 runs both on two
// vCPUs (keepalived's processes, and lvsrouter's parse, decode and
// translation, then share them); LVSKIT_CPUPROFILE=1 prints a CPU profile
// of lvsrouter's start (printProfile); LVSKIT_SCALE_AB=NAME=VALUE also
// runs lvsrouter with that variable, in the same guest.
func BenchmarkVMRouterStart10k(b *testing.B) {
	var ka, lr scaleRun
	for i := 0; i < b.N; i++ {
		k, l := scalePeers(b, false)
		ka.start += k.start
		lr.start += l.start
		ka.startKiB = max(ka.startKiB, k.startKiB)
		lr.startKiB = max(lr.startKiB, l.startKiB)
		ka.rssKiB = max(ka.rssKiB, k.rssKiB)
		lr.rssKiB = max(lr.rssKiB, l.rssKiB)
	}
	n := float64(b.N)
	b.ReportMetric(ka.start.Seconds()/n, "keepalived-s")
	b.ReportMetric(lr.start.Seconds()/n, "lvsrouter-s")
	b.ReportMetric(ka.start.Seconds()/lr.start.Seconds(), "x-faster")
	b.ReportMetric(float64(ka.startKiB)/1024, "keepalived-MiB")
	b.ReportMetric(float64(lr.startKiB)/1024, "lvsrouter-MiB")
	// The peaks once a reload has run too (the figure reported before
	// 2026-12-06).
	b.ReportMetric(float64(ka.rssKiB)/1024, "keepalived-reloaded-MiB")
	b.ReportMetric(float64(lr.rssKiB)/1024, "lvsrouter-reloaded-MiB")
}

// reloadOps matches the router's log line for one Apply.
var reloadOps = regexp.MustCompile(`msg=ipvs changes=(\d+) add-service=(\d+) del-service=(\d+) edit-service=(\d+) add-server=(\d+) del-server=(\d+) edit-server=(\d+)`)

// reloadChecks matches the router's log line for the check targets a
// load kept, restarted, added and removed.
var reloadChecks = regexp.MustCompile(`msg=checks kept=(\d+) updated=(\d+) added=(\d+) removed=(\d+)`)

// BenchmarkVMRouterReload10k reloads each router of
// BenchmarkVMRouterStart10k with SIGHUP after one real server's weight
// changed, and reports the time from the signal to the new weight in the
// kernel, lvsrouter's IPVS operations for each reload (one) and its check
// targets restarted (none). keepalived reloads once; lvsrouter
// LVSKIT_RELOADS times (default 1) in the same process, its weight
// alternating, a second apart: lvsrouter-ms is their median,
// lvsrouter-max-ms the largest, and every value is printed. lvsrouter
// runs with -D (its "reload timeline" lines are printed as offsets from
// each signal) unless LVSKIT_RELOAD_DEBUG=0.
func BenchmarkVMRouterReload10k(b *testing.B) {
	var ka time.Duration
	var all []time.Duration
	ops, restarted := -1, -1
	for i := 0; i < b.N; i++ {
		k, l := scalePeers(b, os.Getenv("LVSKIT_RELOAD_DEBUG") != "0")
		ka += k.reload
		all = append(all, l.reloads...)
		n := len(l.reloads)
		applies := reloadOps.FindAllStringSubmatch(l.log, -1)
		if len(applies) < n+1 {
			b.Fatalf("lvsrouter logged %d IPVS applies, want the start and %d reloads:\n%s", len(applies), n, tail(l.log))
		}
		for j, a := range applies[len(applies)-n:] {
			ops, _ = strconv.Atoi(a[1])
			if got := strings.Join(a[1:], " "); got != "1 0 0 0 0 0 1" {
				b.Errorf("reload %d applied changes/add-svc/del-svc/edit-svc/add-rs/del-rs/edit-rs = %s, want 1 0 0 0 0 0 1", j+1, got)
			}
		}
		loads := reloadChecks.FindAllStringSubmatch(l.log, -1)
		if len(loads) < n+1 {
			b.Errorf("lvsrouter logged %d check summaries, want the start's and %d reloads'", len(loads), n)
			continue
		}
		restarted = 0
		for j, last := range loads[len(loads)-n:] {
			x, _ := strconv.Atoi(last[2])
			restarted += x
			if last[2] != "0" || last[3] != "0" || last[4] != "0" {
				b.Errorf("reload %d touched checks: %s", j+1, last[0])
			}
		}
		b.Logf("%d reloads: checks restarted %d", n, restarted)
	}
	n := float64(b.N)
	if ka < 0 {
		// keepalived left the weight alone for the minute waited.
		ka = -time.Millisecond * time.Duration(b.N)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	vals := make([]string, len(all))
	for i, d := range all {
		vals[i] = fmt.Sprintf("%.1f", ms(d))
	}
	lr, worst := median(all), slices.Max(all)
	if slices.Contains(all, -1) {
		worst = -1
	}
	fmt.Printf("lvsrouter reloads (ms): %s; median %.1f, max %.1f\n", strings.Join(vals, " "), ms(lr), ms(worst))
	b.ReportMetric(ms(ka)/n, "keepalived-ms")
	b.ReportMetric(ms(lr), "lvsrouter-ms")
	b.ReportMetric(ms(worst), "lvsrouter-max-ms")
	b.ReportMetric(float64(ops), "netlink-ops")
	b.ReportMetric(float64(restarted), "checks-restarted")
}
