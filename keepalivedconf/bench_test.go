package keepalivedconf

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
)

// largeConfig generates n virtual servers with two real servers each, every
// real server with a TCP_CHECK.
func largeConfig(n int) []byte { return largeConfigRS(n, 2) }

// largeConfigRS generates n virtual servers with rs real servers each
// (rs <= 250), every real server with a weight and a TCP_CHECK.
func largeConfigRS(n, rs int) []byte {
	var b bytes.Buffer
	b.WriteString("global_defs {\n    router_id bench\n}\n\n")
	for i := 0; i < n; i++ {
		hi, lo := i/250, i%250+1
		fmt.Fprintf(&b, "virtual_server 10.%d.%d.%d 80 {\n", hi/250, hi%250, lo)
		b.WriteString("    delay_loop 6\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n\n")
		for r := 1; r <= rs; r++ {
			fmt.Fprintf(&b, "    real_server 172.16.%d.%d 8080 {\n", i%250, r)
			b.WriteString("        weight 1\n        TCP_CHECK {\n            connect_timeout 3\n            connect_port 8080\n        }\n    }\n")
		}
		b.WriteString("}\n")
	}
	return b.Bytes()
}

func TestLargeConfig(t *testing.T) {
	data := largeConfig(10000)
	f, err := Parse("large.conf", data)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.VirtualServers) != 10000 || len(cfg.VirtualServers[9999].RealServers) != 2 {
		t.Fatalf("decoded %d virtual servers", len(cfg.VirtualServers))
	}
	if !bytes.Equal(f.Format(), data) {
		t.Fatal("round trip differs")
	}
}

func parseTypedFormat(b *testing.B, data []byte) {
	f, err := Parse("large.conf", data)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := f.Config()
	if err != nil || len(cfg.VirtualServers) != 10000 {
		b.Fatal(err)
	}
	if out := f.Format(); len(out) != len(data) {
		b.Fatal("format length")
	}
}

// BenchmarkLargeConfig parses, decodes and formats 10,000 virtual servers
// x 2 real servers with TCP_CHECK; the keepalived sub-benchmark runs
// `keepalived -t -f` on the same file in the same run and reports how many
// times longer it takes than we do.
func BenchmarkLargeConfig(b *testing.B) {
	data := largeConfig(10000)
	var ours, oursCPU time.Duration
	b.Run("parse+typed+format", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		start, cpu := time.Now(), testenv.SelfCPU()
		for i := 0; i < b.N; i++ {
			parseTypedFormat(b, data)
		}
		ours = time.Since(start) / time.Duration(b.N)
		// CPU time (GC included) is what to compare on a busy machine
		oursCPU = (testenv.SelfCPU() - cpu) / time.Duration(b.N)
		b.ReportMetric(float64(oursCPU)/1e6, "cpu-ms/op")
	})
	b.Run("keepalived-t", func(b *testing.B) {
		bin := testenv.NeedTool(b, "keepalived")
		dir := b.TempDir()
		path := filepath.Join(dir, "large.conf")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		start := time.Now()
		var cpu time.Duration
		for i := 0; i < b.N; i++ {
			c, _ := keepalivedTest(b, bin, path)
			cpu += c
		}
		theirs := time.Since(start) / time.Duration(b.N)
		theirsCPU := cpu / time.Duration(b.N)
		b.ReportMetric(float64(theirsCPU)/1e6, "cpu-ms/op")
		if ours > 0 {
			b.ReportMetric(float64(theirs)/float64(ours), "x-wall-vs-ours")
		}
		if oursCPU > 0 && theirsCPU > 0 {
			b.ReportMetric(float64(theirsCPU)/float64(oursCPU), "x-cpu-vs-ours")
		}
	})
}

// keepalivedTest runs `keepalived -t -f path` once (bounded) and returns
// its CPU time and the ru_maxrss of the largest process it reaped:
// keepalived -t parses in forked children, and the rusage wait4 reports
// includes the children it reaped.
func keepalivedTest(b *testing.B, bin, path string) (time.Duration, int64) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-t", "-f", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("keepalived -t: %v\n%s", err, out)
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), maxRSS(cmd.ProcessState)
}

// heapInuse returns the bytes of heap in use after a full collection.
func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// BenchmarkReadLarge reads 10,000 virtual servers x 2 and x 4 real servers
// (weight, TCP_CHECK) the way lvsrouter does: ParseFile (read, includes,
// expansion) then Config. Besides time and allocations it reports the
// peak heap above the heap before the read (peak-MB, sampled every
// 100 µs, garbage included), and what the returned File and Config keep
// live (retained-MB, after a forced collection). keepalived-t runs
// `keepalived -t -f` on the same file in the same run.
func BenchmarkReadLarge(b *testing.B) {
	for _, rs := range []int{2, 4} {
		data := largeConfigRS(10000, rs)
		path := filepath.Join(b.TempDir(), "large.conf")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
		var oursCPU time.Duration
		b.Run(fmt.Sprintf("10kx%d/ParseFile+Config", rs), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			var peak, retained uint64
			var cpu time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				base := heapInuse()
				b.StartTimer()
				c0 := testenv.SelfCPU()
				stopPeak := testenv.HeapPeak()
				f, err := ParseFile(path)
				if err != nil {
					b.Fatal(err)
				}
				cfg, err := f.Config()
				if err != nil || len(cfg.VirtualServers) != 10000 || len(cfg.VirtualServers[0].RealServers) != rs {
					b.Fatal(err)
				}
				p := stopPeak()
				cpu += testenv.SelfCPU() - c0
				b.StopTimer()
				r := heapInuse()
				runtime.KeepAlive(cfg)
				runtime.KeepAlive(f)
				peak = max(peak, p-min(p, base))
				retained = max(retained, r-min(r, base))
				b.StartTimer()
			}
			oursCPU = cpu / time.Duration(b.N)
			b.ReportMetric(float64(oursCPU)/1e6, "cpu-ms/op")
			b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
			b.ReportMetric(float64(retained)/(1<<20), "retained-MB")
		})
		b.Run(fmt.Sprintf("10kx%d/keepalived-t", rs), func(b *testing.B) {
			bin := testenv.NeedTool(b, "keepalived")
			var cpu time.Duration
			var rss int64
			for i := 0; i < b.N; i++ {
				c, r := keepalivedTest(b, bin, path)
				cpu += c
				rss = max(rss, r)
			}
			theirsCPU := cpu / time.Duration(b.N)
			b.ReportMetric(float64(theirsCPU)/1e6, "cpu-ms/op")
			// ru_maxrss of the largest process reaped
			b.ReportMetric(float64(rss)/(1<<20), "maxrss-MB")
			if oursCPU > 0 && theirsCPU > 0 {
				b.ReportMetric(float64(theirsCPU)/float64(oursCPU), "x-cpu-vs-ours")
			}
		})
	}
}
