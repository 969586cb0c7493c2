//go:build vm

package ipvsbench

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	cfipvs "github.com/cloudflare/ipvs"
	cfnetmask "github.com/cloudflare/ipvs/netmask"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/ipvs"
	mobyipvs "github.com/moby/ipvs"
)

// benchServices is the number of services (4 destinations each) of the
// create and dump benchmarks; LVSKIT_IPVS_BENCH_SERVICES overrides it.
func benchServices() int {
	if n, err := strconv.Atoi(os.Getenv("LVSKIT_IPVS_BENCH_SERVICES")); err == nil && n > 0 {
		return n
	}
	return 10000
}

// run runs a program, falling back to busybox's applet.
func run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	if _, err := exec.LookPath(name); err != nil {
		cmd = exec.Command("busybox", append([]string{name}, args...)...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// freshIPVS unloads and reloads ip_vs, so that every measurement starts
// from a new module: destinations deleted earlier linger in the kernel's
// trash for minutes and slow down new ones.
func freshIPVS(tb testing.TB) {
	tb.Helper()
	// Schedulers in use cannot be unloaded: flush first.
	if err := run("ipvsadm", "-C"); err != nil {
		tb.Fatal(err)
	}
	mods, err := os.ReadFile("/proc/modules")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(mods), "\n") {
		if name, _, _ := strings.Cut(line, " "); strings.HasPrefix(name, "ip_vs_") {
			if err := run("rmmod", name); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := run("rmmod", "ip_vs"); err != nil {
		tb.Fatal(err)
	}
	for _, m := range []string{"ip_vs", "ip_vs_wlc"} {
		if err := run("modprobe", m); err != nil {
			tb.Fatal(err)
		}
	}
}

// benchRestore renders the state as an `ipvsadm -R` file.
func benchRestore(state []ipvs.Service) []byte {
	var b bytes.Buffer
	for _, s := range state {
		fmt.Fprintf(&b, "-A -t %s -s %s\n", s.Addr, s.Scheduler)
		for _, d := range s.Destinations {
			fmt.Fprintf(&b, "-a -t %s -r %s -m -w %d\n", s.Addr, d.Addr, d.Weight)
		}
	}
	return b.Bytes()
}

// benchTool is one way to create and dump the benchmark state.
type benchTool struct {
	name   string
	create func() error
	dump   func() (int, error) // entries found: services + destinations
	close  func()
	// measured, when set by create, replaces the times the caller's clock
	// took (a child process that timed itself); measuredLog describes
	// its dumps.
	measured    [2]float64
	measuredLog string
}

// benchDumps is how many times each tool dumps the state it created, the
// best time counting (LVSKIT_IPVS_BENCH_DUMPS, default 3).
func benchDumps() int {
	if n, err := strconv.Atoi(os.Getenv("LVSKIT_IPVS_BENCH_DUMPS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// benchRounds is how many interleaved rounds BenchmarkVMCreateDump runs
// (LVSKIT_IPVS_BENCH_ROUNDS, default 2).
func benchRounds() int {
	if n, err := strconv.Atoi(os.Getenv("LVSKIT_IPVS_BENCH_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 2
}

// BenchmarkVMCreateDump creates 10,000 services × 4 destinations and dumps
// them, with lvskit, `ipvsadm -R` / `ipvsadm -Ln`, moby/ipvs and
// cloudflare/ipvs, each on a freshly loaded ip_vs. The tools take turns
// within each round, so that a shared machine's load hits them alike; each
// dumps its state benchDumps times and its best dump counts. The metrics
// are each tool's best time and, per peer, the median over rounds of peer
// time / lvskit time measured side by side.
func BenchmarkVMCreateDump(b *testing.B) {
	testenv.NeedVM(b)
	state := bigState(benchServices())
	ctx := context.Background()
	tools := []*benchTool{lvskitTool(b, ctx, state), ipvsadmTool(state), mobyTool(state), cloudflareTool(state)}
	if only := os.Getenv("LVSKIT_IPVS_BENCH_TOOLS"); only != "" {
		// While iterating: measure only these tools (comma separated).
		tools = slices.DeleteFunc(tools, func(t *benchTool) bool { return !slices.Contains(strings.Split(only, ","), t.name) })
	}
	defer func() {
		for _, t := range tools {
			if t.close != nil {
				t.close()
			}
		}
	}()
	best := map[string][2]float64{}
	ratios := map[string][2][]float64{}
	for i := 0; i < b.N; i++ {
		for r := 0; r < benchRounds(); r++ {
			var base [2]float64
			for k, t := range tools {
				freshIPVS(b)
				t0 := time.Now()
				if err := t.create(); err != nil {
					b.Fatalf("%s create: %v", t.name, err)
				}
				createS := time.Since(t0).Seconds()
				// The best of a few dumps of the same state: a load
				// spike on a shared host then hits one sample, not the
				// figure.
				var dumps []string
				got := [2]float64{createS, 0}
				for d := 0; d < benchDumps(); d++ {
					t1 := time.Now()
					u0 := usage()
					n, err := t.dump()
					u1 := usage()
					if err != nil {
						b.Fatalf("%s dump: %v", t.name, err)
					}
					dumpS := time.Since(t1).Seconds()
					if want := benchServices() * 5; n != want {
						b.Fatalf("%s dump found %d entries, want %d", t.name, n, want)
					}
					if t.measured != [2]float64{} {
						// A child process timed itself; it also
						// took the best of its dumps.
						got, t.measured = t.measured, [2]float64{}
						dumps = append(dumps, t.measuredLog)
						break
					}
					if d == 0 || dumpS < got[1] {
						got[1] = dumpS
					}
					dumps = append(dumps, fmt.Sprintf("%.2fs (%s)", dumpS, u1.sub(u0)))
				}
				// Printed, not logged: the testing package keeps only ten
				// lines of a benchmark's log.
				fmt.Printf("round %d: %-10s create %7.2fs dump %7.2fs; dumps: %s\n", r, t.name, got[0], got[1], strings.Join(dumps, ", "))
				old, seen := best[t.name]
				for j := range got {
					if !seen || got[j] < old[j] {
						old[j] = got[j]
					}
				}
				best[t.name] = old
				if k == 0 {
					base = got
					continue
				}
				rt := ratios[t.name]
				rt[0] = append(rt[0], got[0]/base[0])
				rt[1] = append(rt[1], got[1]/base[1])
				ratios[t.name] = rt
			}
		}
	}
	freshIPVS(b)
	for _, t := range tools {
		b.ReportMetric(best[t.name][0], t.name+"-create-s")
		b.ReportMetric(best[t.name][1], t.name+"-dump-s")
		if rt, ok := ratios[t.name]; ok {
			b.ReportMetric(median(rt[0]), "create-x-"+t.name)
			b.ReportMetric(median(rt[1]), "dump-x-"+t.name)
		}
	}
}

// cpuUsage is this process's CPU time and GC count at one moment, to tell
// kernel time (sys) from Go time (user) in a measurement.
type cpuUsage struct {
	user, sys time.Duration
	gcs       uint32
}

func usage() cpuUsage {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return cpuUsage{time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), ms.NumGC}
}

func (u cpuUsage) sub(v cpuUsage) string {
	return fmt.Sprintf("user %.2fs sys %.2fs gc %d", (u.user - v.user).Seconds(), (u.sys - v.sys).Seconds(), u.gcs-v.gcs)
}

// profileDump writes a CPU profile of fn to the log as base64 lines when
// LVSKIT_IPVS_BENCH_PROFILE is set (the guest has no other way out).
func profileDump(tb testing.TB, fn func() (int, error)) (int, error) {
	if os.Getenv("LVSKIT_IPVS_BENCH_PROFILE") == "" {
		return fn()
	}
	var buf bytes.Buffer
	if hz, _ := strconv.Atoi(os.Getenv("LVSKIT_IPVS_BENCH_PROFILE")); hz > 100 {
		// A finer rate than pprof's default (StartCPUProfile then
		// complains that it cannot set its own, and keeps this one).
		runtime.SetCPUProfileRate(hz)
	}
	if err := pprof.StartCPUProfile(&buf); err != nil {
		tb.Fatal(err)
	}
	n, err := fn()
	pprof.StopCPUProfile()
	enc := base64.StdEncoding.EncodeToString(buf.Bytes())
	for len(enc) > 0 {
		l := min(len(enc), 120)
		fmt.Printf("PPROF %s\n", enc[:l])
		enc = enc[l:]
	}
	return n, err
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func lvskitTool(tb testing.TB, ctx context.Context, state []ipvs.Service) *benchTool {
	t := &benchTool{name: "lvskit"}
	var c *ipvs.Client
	t.create = func() error {
		var err error
		if c != nil {
			c.Close()
		}
		if c, err = ipvs.Dial(ctx, nil); err != nil {
			return err
		}
		_, err = c.Apply(ctx, state, nil)
		return err
	}
	t.dump = func() (int, error) {
		return profileDump(tb, func() (int, error) {
			svcs, err := c.Dump(ctx)
			n := len(svcs)
			for _, s := range svcs {
				n += len(s.Destinations)
			}
			return n, err
		})
	}
	t.close = func() {
		if c != nil {
			c.Close()
		}
	}
	return t
}

func ipvsadmTool(state []ipvs.Service) *benchTool {
	file := benchRestore(state)
	return &benchTool{name: "ipvsadm", create: func() error {
		cmd := exec.Command("ipvsadm", "-R")
		cmd.Stdin = bytes.NewReader(file)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("ipvsadm -R: %v: %s", err, out)
		}
		return nil
	}, dump: func() (int, error) {
		out, err := exec.Command("ipvsadm", "-Ln").Output()
		n := 0
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "TCP ") || strings.HasPrefix(l, "  -> 172.") {
				n++
			}
		}
		return n, err
	}}
}

// mobyTool measures moby/ipvs in a child process per round: moby/ipvs
// resolves the IPVS family once per process, and the family number changes
// when ip_vs is reloaded. The child is this test binary running
// TestVMMobyHelper, which prints its own timings.
func mobyTool(_ []ipvs.Service) *benchTool {
	t := &benchTool{name: "moby"}
	var n int
	t.create = func() error {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		cmd := exec.Command(exe, "-test.run", "^TestVMMobyHelper$", "-test.v")
		cmd.Env = append(os.Environ(), "LVSKIT_IPVS_MOBY_HELPER=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("moby helper: %v: %s", err, out)
		}
		var createS, dumpS float64
		for _, l := range strings.Split(string(out), "\n") {
			if rest, ok := strings.CutPrefix(l, "moby-dumps "); ok {
				t.measuredLog = rest
			}
			if _, err := fmt.Sscanf(strings.TrimSpace(l), "moby-result create=%g dump=%g n=%d", &createS, &dumpS, &n); err == nil {
				t.measured = [2]float64{createS, dumpS}
				return nil
			}
		}
		return fmt.Errorf("moby helper printed no result: %s", out)
	}
	t.dump = func() (int, error) { return n, nil }
	return t
}

// TestVMMobyHelper creates and dumps the benchmark state with moby/ipvs
// when BenchmarkVMCreateDump runs it as a child; otherwise it skips.
func TestVMMobyHelper(t *testing.T) {
	testenv.SkipUnlessHelper(t, "LVSKIT_IPVS_MOBY_HELPER", "BenchmarkVMCreateDump")
	state := bigState(benchServices())
	h, err := mobyipvs.New("")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	t0 := time.Now()
	for _, s := range state {
		ms := &mobyipvs.Service{Address: net.IP(s.Addr.Addr().AsSlice()), Protocol: syscall.IPPROTO_TCP, Port: s.Addr.Port(),
			SchedName: s.Scheduler, Netmask: 0xffffffff, AddressFamily: syscall.AF_INET}
		if err := h.NewService(ms); err != nil {
			t.Fatal(err)
		}
		for _, d := range s.Destinations {
			if err := h.NewDestination(ms, &mobyipvs.Destination{Address: net.IP(d.Addr.Addr().AsSlice()), Port: d.Addr.Port(),
				Weight: d.Weight, ConnectionFlags: mobyipvs.ConnectionFlagMasq, AddressFamily: syscall.AF_INET}); err != nil {
				t.Fatal(err)
			}
		}
	}
	createS := time.Since(t0).Seconds()
	var (
		dumpS float64
		n     int
		log   []string
	)
	for d := 0; d < benchDumps(); d++ {
		t1 := time.Now()
		u0 := usage()
		svcs, err := h.GetServices()
		if err != nil {
			t.Fatal(err)
		}
		n = len(svcs)
		for _, s := range svcs {
			ds, err := h.GetDestinations(s)
			if err != nil {
				t.Fatal(err)
			}
			n += len(ds)
		}
		s := time.Since(t1).Seconds()
		if d == 0 || s < dumpS {
			dumpS = s
		}
		log = append(log, fmt.Sprintf("%.2fs (%s)", s, usage().sub(u0)))
	}
	fmt.Printf("moby-dumps %s\n", strings.Join(log, ", "))
	fmt.Printf("moby-result create=%g dump=%g n=%d\n", createS, dumpS, n)
}

func cloudflareTool(state []ipvs.Service) *benchTool {
	t := &benchTool{name: "cloudflare"}
	var c cfipvs.Client
	t.create = func() error {
		var err error
		if c, err = cfipvs.New(); err != nil {
			return err
		}
		for _, s := range state {
			cs := cfipvs.Service{Address: s.Addr.Addr(), Netmask: cfnetmask.MaskFrom(32, 32), Scheduler: s.Scheduler,
				Port: s.Addr.Port(), Family: cfipvs.INET, Protocol: cfipvs.TCP}
			if err := c.CreateService(cs); err != nil {
				return err
			}
			for _, d := range s.Destinations {
				if err := c.CreateDestination(cs, cfipvs.Destination{Address: d.Addr.Addr(), FwdMethod: cfipvs.Masquerade,
					Weight: uint32(d.Weight), Port: d.Addr.Port(), Family: cfipvs.INET}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	t.dump = func() (int, error) {
		svcs, err := c.Services()
		if err != nil {
			return 0, err
		}
		n := len(svcs)
		for _, s := range svcs {
			ds, err := c.Destinations(s.Service)
			if err != nil {
				return 0, err
			}
			n += len(ds)
		}
		return n, nil
	}
	return t
}

// BenchmarkVMApplyOneChange measures a reload that changes one weight in
// 10,000 services: with an Applier (diff against the remembered state, one
// netlink request) and with Client.Apply (which dumps the kernel first).
func BenchmarkVMApplyOneChange(b *testing.B) {
	testenv.NeedVM(b)
	ctx := context.Background()
	freshIPVS(b)
	c, err := ipvs.Dial(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	defer c.Flush(ctx)
	states := [2][]ipvs.Service{bigState(benchServices()), bigState(benchServices())}
	states[1][benchServices()/2].Destinations[1].Weight = 9
	a := ipvs.NewApplier(c)
	if _, err := a.Apply(ctx, states[0], nil); err != nil {
		b.Fatal(err)
	}
	b.Run("applier", func(b *testing.B) {
		// Each op runs 21 reloads (alternating one weight) and reports
		// their median, steadier than one sample on a shared machine.
		b.ReportAllocs()
		var times []time.Duration
		for i := 0; i < b.N; i++ {
			for j := 0; j < 21; j++ {
				t0 := time.Now()
				ch, err := a.Apply(ctx, states[(j+1)%2], nil)
				times = append(times, time.Since(t0))
				if err != nil || ch.Len() != 1 {
					b.Fatal(ch.Ops, err)
				}
			}
			if _, err := a.Apply(ctx, states[0], nil); err != nil {
				b.Fatal(err)
			}
		}
		slices.Sort(times)
		b.ReportMetric(float64(times[len(times)/2])/1e6, "median-ms/apply")
	})
	b.Run("client-with-dump", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			ch, err := c.Apply(ctx, states[i%2], nil)
			if err != nil || ch.Len() > 1 {
				b.Fatal(ch.Ops, err)
			}
		}
	})
}

// bigState returns n services with four destinations each.
func bigState(n int) []ipvs.Service {
	out := make([]ipvs.Service, n)
	for i := range out {
		out[i] = ipvs.Service{
			Protocol:  ipvs.TCP,
			Addr:      netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 80),
			Scheduler: "wlc",
		}
		for j := 0; j < 4; j++ {
			out[i].Destinations = append(out[i].Destinations, ipvs.Destination{
				Addr:    netip.AddrPortFrom(netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(j)}), 8080),
				Forward: ipvs.Masquerade, Weight: 1,
			})
		}
	}
	return out
}
