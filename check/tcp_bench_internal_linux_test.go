package check

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
)

// BenchmarkTCPQuickCheck measures what one TCP check started and ended in
// quickCheck costs this process, kernel included (on loopback the kernel
// handles both ends of the handshake in the caller's system calls):
// checks round-robin over 1,000 listeners that never accept, as the
// Monitor's loop runs them. cpu-ns/check is user+system CPU time.
func BenchmarkTCPQuickCheck(b *testing.B) {
	const n = 1000
	addrs := benchListeners(b, n)
	q := newQuickState()
	defer q.close()
	b.ReportAllocs()
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	for i := range b.N {
		r, rest, done := TCP{Addr: addrs[i%n], Timeout: time.Second}.quickCheck(q)
		if !done || !r.Up {
			b.Fatalf("check %d: %+v, %v, %v", i, r, rest, done)
		}
	}
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	reportRusage(b, &ru0, &ru1)
}

// BenchmarkTCPHalfOpen is BenchmarkTCPQuickCheck for half-open probes
// (ProbeHalfOpen, needs CAP_NET_RAW): a probe queued per check, the
// batch sent (one sendmmsg) and its answers read every 16 probes, as the
// Monitor's loop does after a batch.
//
//	LVSKIT_BENCH_LISTENERS  listeners probed in turn (default 1000)
//	LVSKIT_BENCH_BATCH      probes per batch (default 16)
//	LVSKIT_BENCH_PACE       sleep between batches on an eventWaker, as the
//	                        loop sleeps between wake-ups (default none)
//
// Measured 2026-12-06 with 10,000 listeners: 11.5-11.8 us per probe back
// to back; with a 1 ms sleep between batches 27-29 us at 6 probes per
// batch (the Monitor's batch at 10,000 targets a second) and 16-17 us at
// 128: a probe after a sleep costs the kernel more than one right after
// another.
func BenchmarkTCPHalfOpen(b *testing.B) {
	n := envN(1000)
	pace, _ := time.ParseDuration(os.Getenv("LVSKIT_BENCH_PACE"))
	batch := 16
	ew, err := newEventWaker()
	if err != nil {
		b.Fatal(err)
	}
	defer ew.close()
	if v, err := strconv.Atoi(os.Getenv("LVSKIT_BENCH_BATCH")); err == nil && v > 0 {
		batch = v
	}
	addrs := benchListeners(b, n)
	q := newQuickState()
	defer q.close()
	if err := q.raw.open(0); err != nil {
		testenv.Missing(b, "raw socket for half-open probes: %v", err)
	}
	b.ReportAllocs()
	var ru0, ru1 syscall.Rusage
	var out []rawDone
	got := 0
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	for i := range b.N {
		w, r, _, err := q.raw.start(TCP{Addr: addrs[i%n], Timeout: time.Second})
		if w == nil {
			b.Fatalf("check %d: %+v, %v", i, r, err)
		}
		if i%batch == batch-1 || i == b.N-1 {
			q.raw.flush()
			out = q.raw.drain(q.raw.fam[0].fd, 0, out[:0])
			if pace > 0 {
				// As the Monitor's loop sleeps between batches.
				ew.arm(pace)
				ew.sleep()
			}
			for _, d := range out {
				if !d.r.Up {
					b.Fatalf("%+v", d.r)
				}
			}
			got += len(out)
		}
	}
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	if got < b.N*9/10 {
		b.Fatalf("%d answers to %d probes", got, b.N)
	}
	reportRusage(b, &ru0, &ru1)
}

func reportRusage(b *testing.B, ru0, ru1 *syscall.Rusage) {
	cpu := ru1.Utime.Nano() - ru0.Utime.Nano() + ru1.Stime.Nano() - ru0.Stime.Nano()
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/check")
	b.ReportMetric(float64(ru1.Stime.Nano()-ru0.Stime.Nano())/float64(b.N), "sys-ns/check")
}

// benchListeners listens on n loopback addresses; nothing accepts.
func benchListeners(b *testing.B, n int) []netip.AddrPort {
	var addrs []netip.AddrPort
	for i := range n {
		a := netip.AddrFrom4([4]byte{127, 3, byte(i / 200), byte(i%200 + 1)})
		ln, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
		if err != nil {
			testenv.Missing(b, "listen: %v", err)
		}
		b.Cleanup(func() { ln.Close() })
		addrs = append(addrs, ln.Addr().(*net.TCPAddr).AddrPort())
	}
	return addrs
}

func envN(def int) int {
	if v, err := strconv.Atoi(os.Getenv("LVSKIT_BENCH_LISTENERS")); err == nil && v > 0 {
		return v
	}
	return def
}
