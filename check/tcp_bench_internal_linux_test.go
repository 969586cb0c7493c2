package check

import (
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"
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
// (ProbeHalfOpen, needs CAP_NET_RAW): a probe sent per check, the
// answers read every 16 probes, as the Monitor's loop reads them after a
// batch.
func BenchmarkTCPHalfOpen(b *testing.B) {
	const n = 1000
	addrs := benchListeners(b, n)
	q := newQuickState()
	defer q.close()
	if err := q.raw.open(0); err != nil {
		b.Skip(err)
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
		if i%16 == 15 || i == b.N-1 {
			q.raw.flush()
			out = q.raw.drain(q.raw.fam[0].fd, 0, out[:0])
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
			b.Skip("listen:", err)
		}
		b.Cleanup(func() { ln.Close() })
		addrs = append(addrs, ln.Addr().(*net.TCPAddr).AddrPort())
	}
	return addrs
}
