package check_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/internal/testenv"
)

// The scale benchmarks compare a Monitor with haproxy checking the same
// loopback listeners, one after the other in the same run. The listeners
// live in a child process (this test binary re-executed) so that the
// figures measured for each checker are its own.
//
//	LVSKIT_BENCH_DURATION  measuring window per checker (default 20s)
//	LVSKIT_BENCH_TCP       TCP targets (default 10000)
//	LVSKIT_BENCH_HTTP      HTTP targets (default 1000)

const listenerEnv = "LVSKIT_CHECK_LISTENERS"

func TestMain(m *testing.M) {
	if spec := os.Getenv(listenerEnv); spec != "" {
		listenerMain(spec)
		return
	}
	os.Exit(m.Run())
}

// listenerMain listens on nTCP addresses in 127.1.0.0/16 (accepting and
// closing) and nHTTP addresses in 127.2.0.0/16 (answering one tiny HTTP
// response), prints "tcp ADDR" / "http ADDR" lines and "ready", and exits
// when its stdin closes.
func listenerMain(spec string) {
	var nTCP, nHTTP int
	fmt.Sscanf(spec, "%d,%d", &nTCP, &nHTTP)
	out := bufio.NewWriter(os.Stdout)
	listen := func(kind string, second byte, n int, serve func(net.Conn)) {
		for i := range n {
			a := netip.AddrFrom4([4]byte{127, second, byte(i / 200), byte(i%200 + 1)})
			ln, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
			if err != nil {
				fmt.Fprintln(os.Stderr, "listen:", err)
				os.Exit(1)
			}
			fmt.Fprintln(out, kind, ln.Addr())
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						time.Sleep(time.Millisecond) // EMFILE: back off
						continue
					}
					go serve(c)
				}
			}()
		}
	}
	var served atomic.Int64
	listen("tcp", 1, nTCP, func(c net.Conn) { c.Close() })
	listen("http", 2, nHTTP, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if l == "\r\n" || l == "\n" {
				break
			}
		}
		io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n")
		served.Add(1)
	})
	// A counter of HTTP requests served, so that any checker's real
	// rate can be measured from the server side.
	stats, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	fmt.Fprintln(out, "stats", stats.Addr())
	go func() {
		for {
			c, err := stats.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, served.Load())
			c.Close()
		}
	}()
	fmt.Fprintln(out, "ready")
	out.Flush()
	io.Copy(io.Discard, os.Stdin)
}

type listeners struct {
	tcp, http []netip.AddrPort
	stats     netip.AddrPort // answers the number of HTTP requests served
}

// served asks the listener child how many HTTP requests it has answered.
func (l listeners) served(b *testing.B) int64 {
	c, err := net.Dial("tcp", l.stats.String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var n int64
	if _, err := fmt.Fscan(c, &n); err != nil {
		b.Fatal(err)
	}
	return n
}

var (
	benchOnce sync.Once
	benchLns  listeners
	benchErr  error
	benchStop func()
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func benchDuration() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("LVSKIT_BENCH_DURATION")); err == nil && d > 0 {
		return d
	}
	return 20 * time.Second
}

// startListeners starts the listener child once per test binary run.
func startListeners(b *testing.B) listeners {
	benchOnce.Do(func() {
		nTCP, nHTTP := envInt("LVSKIT_BENCH_TCP", 10000), envInt("LVSKIT_BENCH_HTTP", 1000)
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d,%d", listenerEnv, nTCP, nHTTP))
		cmd.Stderr = os.Stderr
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		if benchErr = cmd.Start(); benchErr != nil {
			return
		}
		benchStop = func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() }
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			kind, addr, _ := strings.Cut(sc.Text(), " ")
			switch kind {
			case "tcp":
				benchLns.tcp = append(benchLns.tcp, netip.MustParseAddrPort(addr))
			case "http":
				benchLns.http = append(benchLns.http, netip.MustParseAddrPort(addr))
			case "stats":
				benchLns.stats = netip.MustParseAddrPort(addr)
			case "ready":
				go io.Copy(io.Discard, stdout)
				return
			}
		}
		benchErr = fmt.Errorf("listener child ended before ready: %v", sc.Err())
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchLns
}

// BenchmarkScale runs, one after the other against the same listeners:
// a Monitor with the TCP targets at 1 s, haproxy with as many servers at
// "check inter 1s", then both again with the HTTP targets. Each reports
// CPU as % of one core, RSS in MiB, and (Monitor only) worst drift.
func BenchmarkScale(b *testing.B) {
	lns := startListeners(b)
	b.Cleanup(func() {
		if benchStop != nil {
			benchStop()
		}
	})
	d := benchDuration()
	tcp := func(a netip.AddrPort) check.Checker { return check.TCP{Addr: a, Timeout: time.Second} }
	httpc := func(a netip.AddrPort) check.Checker { return &check.HTTP{Addr: a, Path: "/", Timeout: time.Second} }
	b.Run(fmt.Sprintf("lvskit/tcp-%d", len(lns.tcp)), func(b *testing.B) { benchMonitor(b, lns.tcp, tcp, d) })
	b.Run(fmt.Sprintf("haproxy/tcp-%d", len(lns.tcp)), func(b *testing.B) { benchHAProxy(b, lns, lns.tcp, "", d) })
	b.Run(fmt.Sprintf("lvskit/http-%d", len(lns.http)), func(b *testing.B) { benchMonitor(b, lns.http, httpc, d) })
	b.Run(fmt.Sprintf("haproxy/http-%d", len(lns.http)), func(b *testing.B) {
		benchHAProxy(b, lns, lns.http, "\toption httpchk GET /\n\thttp-check expect status 200\n", d)
	})
}

const warmup = 3 * time.Second

func benchMonitor(b *testing.B, addrs []netip.AddrPort, mk func(netip.AddrPort) check.Checker, d time.Duration) {
	b.ReportAllocs()
	for range b.N {
		var downs sync.Map
		m := startMonitor(b, &check.MonitorConfig{Seed: 1, Concurrency: envInt("LVSKIT_BENCH_CONCURRENCY", 64), OnTransition: func(tr check.Transition) {
			if !tr.Up {
				downs.Store(tr.ID, tr.Reason)
			}
		}})
		for i, a := range addrs {
			mustAdd(b, m, check.Target{ID: strconv.Itoa(i), Checker: mk(a), Policy: check.HAProxy{Inter: time.Second}})
		}
		time.Sleep(warmup)
		u0, s0 := cpuSelfSplit()
		t0 := time.Now()
		tot0 := m.Totals()
		a0 := activeOpens()
		w0 := runqWait(os.Getpid())
		time.Sleep(d)
		w1 := runqWait(os.Getpid())
		u1, s1 := cpuSelfSplit()
		el := time.Since(t0)
		a1 := activeOpens()
		c0, c1 := u0+s0, u1+s1
		tot1 := m.Totals()
		n0, n1, worst := tot0.Checks, tot1.Checks, tot1.MaxLateness
		var lates []time.Duration
		var fails uint64
		var lat time.Duration
		for i := range addrs {
			st, _ := m.Stats(strconv.Itoa(i))
			lates = append(lates, st.MaxLateness)
			fails += st.Failures
			lat = max(lat, st.LastLatency)
		}
		b.ReportMetric(float64(fails), "fails")
		b.ReportMetric(float64(lat)/1e6, "lastlat-max-ms")
		m.Close()
		slices.Sort(lates)
		ndown := 0
		downs.Range(func(k, v any) bool {
			if ndown == 0 {
				b.Logf("down: target %v: %v", k, v)
			}
			ndown++
			return true
		})
		b.ReportMetric(100*float64(c1-c0)/float64(el), "cpu%")
		b.ReportMetric(100*float64(s1-s0)/float64(el), "sys%")
		b.ReportMetric(float64(rssKiB(os.Getpid()))/1024, "rss-MiB")
		b.ReportMetric(float64(n1-n0)/el.Seconds(), "checks/s")
		b.ReportMetric(float64(a1-a0)/el.Seconds(), "syn/s")
		b.ReportMetric(float64(c1-c0)/1e3/float64(max(n1-n0, 1)), "cpu-us/check")
		b.ReportMetric(float64(worst)/1e6, "drift-max-ms")
		// Time this process's threads were runnable but not running: the
		// host's share of any drift.
		b.ReportMetric(float64(w1-w0)/1e6/el.Seconds(), "runq-wait-ms/s")
		b.ReportMetric(float64(lates[len(lates)*99/100])/1e6, "drift-p99target-ms")
		// Lateness quantiles over the measuring window only (the
		// maxima above include the start).
		win := tot1
		win.Checks -= tot0.Checks
		for i := range win.Lateness {
			win.Lateness[i] -= tot0.Lateness[i]
		}
		b.ReportMetric(float64(win.LatenessQuantile(0.5))/1e6, "late-p50<=ms")
		b.ReportMetric(float64(win.LatenessQuantile(0.99))/1e6, "late-p99<=ms")
		b.ReportMetric(float64(win.LatenessQuantile(0.999))/1e6, "late-p999<=ms")
		b.ReportMetric(float64(ndown), "downs")
	}
}

func benchHAProxy(b *testing.B, lns listeners, addrs []netip.AddrPort, extra string, d time.Duration) {
	bin := testenv.NeedTool(b, "haproxy")
	for range b.N {
		var cfg bytes.Buffer
		dir := b.TempDir()
		// haproxy refuses to run without a listener: the stats socket is one.
		fmt.Fprintf(&cfg, "global\n\tmaxconn 4000\n\tstats socket %s/admin.sock\ndefaults\n\tmode tcp\n\ttimeout connect 1s\n\ttimeout client 5s\n\ttimeout server 5s\n\ttimeout check 1s\nbackend be\n%s\tdefault-server check inter 1s\n", dir, extra)
		for i, a := range addrs {
			fmt.Fprintf(&cfg, "\tserver s%d %s\n", i, a)
		}
		path := filepath.Join(dir, "haproxy.cfg")
		if err := os.WriteFile(path, cfg.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
		var out bytes.Buffer
		cmd := exec.Command(bin, "-db", "-q", "-f", path)
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		pid := cmd.Process.Pid
		time.Sleep(warmup)
		c0, sy0 := cpuPid(pid)
		t0 := time.Now()
		h0 := lns.served(b)
		a0 := activeOpens()
		w0 := runqWait(pid)
		if rssKiB(pid) == 0 {
			cmd.Wait()
			b.Fatalf("haproxy exited:\n%s", out.String())
		}
		time.Sleep(d)
		c1, sy1 := cpuPid(pid)
		el := time.Since(t0)
		a1 := activeOpens()
		w1 := runqWait(pid)
		h1 := lns.served(b)
		rss := rssKiB(pid)
		syscall.Kill(-pid, syscall.SIGKILL)
		cmd.Wait()
		if c0 < 0 || c1 < 0 {
			b.Fatalf("haproxy did not run:\n%s", out.String())
		}
		b.ReportMetric(100*float64(c1-c0)/float64(el), "cpu%")
		b.ReportMetric(100*float64(sy1-sy0)/float64(el), "sys%")
		b.ReportMetric(float64(rss)/1024, "rss-MiB")
		// HTTP checks reach the server, which counts them; TCP checks
		// are half-open and never do, so they are counted by the
		// connections opened on the host meanwhile (anything else
		// running adds to that count).
		checks := a1 - a0
		if extra != "" {
			checks = uint64(h1 - h0)
		}
		b.ReportMetric(float64(checks)/el.Seconds(), "checks/s")
		b.ReportMetric(float64(a1-a0)/el.Seconds(), "syn/s")
		b.ReportMetric(float64(c1-c0)/1e3/float64(max(checks, 1)), "cpu-us/check")
		b.ReportMetric(float64(w1-w0)/1e6/el.Seconds(), "runq-wait-ms/s")
	}
}

// activeOpens returns the host's count of TCP connections opened
// (ActiveOpens in /proc/net/snmp): a SYN count that sees half-open checks.
func activeOpens() uint64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var names []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || f[0] != "Tcp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "ActiveOpens" && i < len(f) {
				v, _ := strconv.ParseUint(f[i], 10, 64)
				return v
			}
		}
	}
	return 0
}

// runqWait returns how long the threads of a process have waited for a
// CPU (the second field of /proc/PID/task/TID/schedstat, summed).
func runqWait(pid int) time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		var run, wait int64
		fmt.Sscan(string(b), &run, &wait)
		sum += time.Duration(wait)
	}
	return sum
}

// cpuSelf returns this process's user+system CPU time.
func cpuSelf() time.Duration {
	u, s := cpuSelfSplit()
	return u + s
}

// cpuSelfSplit returns this process's user and system CPU time.
func cpuSelfSplit() (user, sys time.Duration) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// cpuPid returns a process's user+system and system CPU time from /proc,
// or -1.
func cpuPid(pid int) (total, sys time.Duration) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1, -1
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const tick = time.Second / 100 // USER_HZ is 100 on Linux
	return time.Duration(ut+st) * tick, time.Duration(st) * tick
}

// rssKiB returns a process's resident set size in KiB.
func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
