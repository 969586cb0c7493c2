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
	var addrs []netip.AddrPort
	for i := range n {
		a := netip.AddrFrom4([4]byte{127, 3, byte(i / 200), byte(i%200 + 1)})
		ln, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
		if err != nil {
			b.Skip("listen:", err)
		}
		defer ln.Close()
		addrs = append(addrs, ln.Addr().(*net.TCPAddr).AddrPort())
	}
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
	cpu := ru1.Utime.Nano() - ru0.Utime.Nano() + ru1.Stime.Nano() - ru0.Stime.Nano()
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/check")
	b.ReportMetric(float64(ru1.Stime.Nano()-ru0.Stime.Nano())/float64(b.N), "sys-ns/check")
}
