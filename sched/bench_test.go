package sched

import (
	"fmt"
	"github.com/lvskit/lvskit/internal/testenv"
	"net/netip"
	"testing"
)

func benchSched(b *testing.B, name string, n int) *Scheduler {
	b.Helper()
	s := mustNew(b, name, Config{Flags: FlagFallback})
	for i := 0; i < n; i++ {
		if err := s.Add(Dest{Addr: rs(i + 1), Weight: 1 + i%5}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		_ = s.SetConns(rs(i+1), i%7, i%11)
	}
	return s
}

// benchKeys are 1024 keys with distinct sources and 64 virtual addresses.
func benchKeys() []Key {
	keys := make([]Key, 1024)
	for i := range keys {
		keys[i] = Key{Proto: TCP,
			Src: netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 168, byte(i >> 8), byte(i)}), uint16(1024+i)),
			Dst: netip.AddrPortFrom(netip.AddrFrom4([4]byte{172, 16, 0, byte(i % 64)}), 80)}
	}
	return keys
}

// BenchmarkPick measures one scheduling decision, the kernel's schedule
// call, for every scheduler at 10, 1,000 and 10,000 destinations. Beside
// wall ns/op it reports cpu-ns/op, the process's CPU time per pick, which
// a loaded host (other processes taking turns on the cores) does not
// inflate.
func BenchmarkPick(b *testing.B) {
	keys := benchKeys()
	for _, name := range Names() {
		for _, n := range []int{10, 1000, 10000} {
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				s := benchSched(b, name, n)
				b.ReportAllocs()
				b.ResetTimer()
				cpu := testenv.SelfCPU()
				for i := 0; i < b.N; i++ {
					s.Pick(keys[i&1023])
				}
				if cpu := testenv.SelfCPU() - cpu; cpu > 0 {
					b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
				}
			})
		}
	}
}

// BenchmarkConnect measures a pick plus binding the new connection, which
// for the least-connection family includes the O(log n) tree update.
func BenchmarkConnect(b *testing.B) {
	keys := benchKeys()
	for _, name := range []string{"lc", "wlc", "sed", "nq"} {
		for _, n := range []int{10, 1000, 10000} {
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				s := benchSched(b, name, n)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					a, _ := s.Connect(keys[i&1023], true)
					// Keep the counters bounded: drop the connection again.
					_ = s.Unbind(a, true)
				}
			})
		}
	}
}

// BenchmarkMHBuild measures building the Maglev table (4093 slots) for
// 1,000 destinations, what the kernel does on every destination change.
func BenchmarkMHBuild(b *testing.B) {
	s := benchSched(b, "mh", 1000)
	a := s.alg.(*mhAlgo)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.changed()
	}
}

// BenchmarkHAProxyPick measures HAProxy balance predictions with 100
// servers: map-based and consistent uri hashing, and roundrobin.
func BenchmarkHAProxyPick(b *testing.B) {
	var servers []Server
	for i := 0; i < 100; i++ {
		servers = append(servers, Server{Name: fmt.Sprint("s", i), Weight: 1 + i%4})
	}
	uris := make([]string, 256)
	for i := range uris {
		uris[i] = fmt.Sprintf("/static/%d/file%d.css?v=%d", i%9, i, i)
	}
	for _, c := range []struct{ name, bal, ht string }{
		{"uri-map", "uri", ""}, {"uri-consistent", "uri", "consistent"}, {"source-map", "source", ""},
		{"roundrobin", "roundrobin", ""}, {"static-rr", "static-rr", ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			bal, err := ParseBalance(c.bal, c.ht)
			if err != nil {
				b.Fatal(err)
			}
			h, err := NewHAProxy(bal, servers, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h.Pick(Request{Src: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), URI: uris[i&255]})
			}
		})
	}
}

// BenchmarkTwosUpdate measures a weight edit under twos at 10,000
// destinations: the tree update a weight or overload change costs.
func BenchmarkTwosUpdate(b *testing.B) {
	s := benchSched(b, "twos", 10000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % 10000
		if err := s.Edit(Dest{Addr: rs(j + 1), Weight: 1 + (i/10000+j)%5}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTwosBuildFlat measures rebuilding twos' flat arrays (running
// sums and guide table) at 10,000 destinations.
func BenchmarkTwosBuildFlat(b *testing.B) {
	s := benchSched(b, "twos", 10000)
	a := s.alg.(*twosAlgo)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.buildFlat()
	}
}

// BenchmarkTwosChurn measures twos picks at 10,000 destinations while one
// destination's weight changes every 10, 1,000 or 100,000 picks (an
// overload flip or a weight edit): the flat arrays go stale on each
// change, the tree answers until enough picks have passed, and then the
// flat arrays are rebuilt. The edit is part of the time per pick.
func BenchmarkTwosChurn(b *testing.B) {
	keys := benchKeys()
	for _, every := range []int{10, 1000, 100000} {
		b.Run(fmt.Sprint(every), func(b *testing.B) {
			s := benchSched(b, "twos", 10000)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := testenv.SelfCPU()
			for i := 0; i < b.N; i++ {
				if i%every == 0 {
					// Destination 1 has weight 1: make it 2 and back.
					_ = s.Edit(Dest{Addr: rs(1), Weight: 1 + i/every%2})
				}
				s.Pick(keys[i&1023])
			}
			if cpu := testenv.SelfCPU() - cpu; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
