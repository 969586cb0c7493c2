package sched

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// rs returns the i-th real server address 10.0.0.i:80.
func rs(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 80)
}

func mustNew(t testing.TB, name string, c ...Config) *Scheduler {
	t.Helper()
	var cfg *Config
	if len(c) > 0 {
		cfg = &c[0]
	}
	s, err := New(name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// addWeights adds rs(1), rs(2), ... with the given weights, in that order
// (so the kernel's list runs from the last to the first).
func addWeights(t testing.TB, s *Scheduler, w ...int) {
	t.Helper()
	for i, wi := range w {
		if err := s.Add(Dest{Addr: rs(i + 1), Weight: wi}); err != nil {
			t.Fatal(err)
		}
	}
}

func client(i int) Key {
	return Key{Proto: TCP,
		Src: netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 168, byte(i >> 8), byte(i)}), uint16(10000+i)),
		Dst: ap("172.16.0.1:80")}
}

// picks returns the index (1-based, as in rs) of n successive picks, 0 for
// none.
func picks(s *Scheduler, n int, key func(int) Key) []int {
	out := make([]int, n)
	for i := range out {
		a, ok := s.Pick(key(i))
		if ok {
			b := a.Addr().As4()
			out[i] = int(b[2])<<8 | int(b[3])
		}
	}
	return out
}

func same(k Key) func(int) Key { return func(int) Key { return k } }

func TestListOrderIsNewestFirst(t *testing.T) {
	s := mustNew(t, "rr")
	addWeights(t, s, 1, 1, 1)
	got := s.Dests()
	for i, want := range []netip.AddrPort{rs(3), rs(2), rs(1)} {
		if got[i].Addr != want {
			t.Fatalf("list[%d] = %v, want %v", i, got[i].Addr, want)
		}
	}
}

func TestErrors(t *testing.T) {
	if _, err := New("bogus", nil); !errors.Is(err, ErrUnknownScheduler) {
		t.Fatalf("New(bogus) = %v", err)
	}
	if _, err := New("mh", &Config{MHTableSize: 1000}); !errors.Is(err, ErrRange) {
		t.Fatalf("mh 1000 = %v", err)
	}
	s := mustNew(t, "wlc")
	for _, d := range []Dest{
		{Addr: rs(1), Weight: -1},
		{Addr: rs(1), Weight: 1, UpperThreshold: 1, LowerThreshold: 2},
		{Addr: rs(1), Weight: 1, UpperThreshold: 1 << 31},
		{Weight: 1},
	} {
		if err := s.Add(d); !errors.Is(err, ErrRange) {
			t.Errorf("Add(%+v) = %v, want ErrRange", d, err)
		}
	}
	addWeights(t, s, 1)
	if err := s.Add(Dest{Addr: rs(1), Weight: 1}); !errors.Is(err, ErrExists) {
		t.Errorf("second Add = %v", err)
	}
	if err := s.Edit(Dest{Addr: rs(2), Weight: 1}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Edit missing = %v", err)
	}
	if err := s.Remove(rs(2)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove missing = %v", err)
	}
	if err := s.Unbind(rs(1), true); !errors.Is(err, ErrRange) {
		t.Errorf("Unbind with no conns = %v", err)
	}
	if err := s.Activate(rs(1)); !errors.Is(err, ErrRange) {
		t.Errorf("Activate with no conns = %v", err)
	}
	if err := s.SetConns(rs(1), -1, 0); !errors.Is(err, ErrRange) {
		t.Errorf("SetConns(-1) = %v", err)
	}
}

func TestSchedulerPicks(t *testing.T) {
	k := client(1)
	tests := []struct {
		name    string
		weights []int
		conns   [][2]int // active, inactive per rs(i+1)
		over    []bool
		n       int
		want    []int
	}{
		// rr walks the list newest first and skips weight 0.
		{name: "rr", weights: []int{1, 0, 1, 1}, n: 7, want: []int{4, 3, 1, 4, 3, 1, 4}},
		{name: "rr", weights: []int{0, 0}, n: 2, want: []int{0, 0}},
		// wrr: list 3(2) 2(3) 1(4). Adding the first destination alone
		// sets di 4, mw 1, cw 1, and later adds keep cw 1, so a service
		// built one destination at a time starts on the last pass (cw 1),
		// then cycles cw 4,3,2,1.
		{name: "wrr", weights: []int{4, 3, 2}, n: 18, want: []int{3, 2, 1, 1, 2, 1, 3, 2, 1, 3, 2, 1, 1, 2, 1, 3, 2, 1}},
		// wrr with gcd 2: weights 4,2 -> di 2, mw 3, cw (1/2)*2+1 = 1, then 3, 1.
		{name: "wrr", weights: []int{4, 2}, n: 6, want: []int{2, 1, 1, 2, 1, 1}},
		{name: "wrr", weights: []int{0, 0}, n: 1, want: []int{0}},
		// lc: least activeconns*256+total, first in list on ties.
		{name: "lc", weights: []int{1, 1, 1}, conns: [][2]int{{1, 0}, {0, 5}, {0, 5}}, n: 1, want: []int{3}},
		{name: "lc", weights: []int{1, 0, 1}, conns: [][2]int{{1, 0}, {0, 0}, {1, 1}}, n: 1, want: []int{1}},
		// wlc: overhead/weight; 1: 257/1, 2: 514/3 -> 2.
		{name: "wlc", weights: []int{1, 3, 1}, conns: [][2]int{{1, 0}, {2, 0}, {1, 1}}, n: 1, want: []int{2}},
		{name: "wlc", weights: []int{2, 1}, conns: [][2]int{{2, 0}, {1, 0}}, n: 1, want: []int{2}}, // tie: newest first
		// sed: (active+1)/weight ignores inactive connections.
		{name: "sed", weights: []int{1, 2}, conns: [][2]int{{0, 9}, {1, 0}}, n: 1, want: []int{2}},
		{name: "sed", weights: []int{1, 2}, conns: [][2]int{{0, 0}, {2, 0}}, n: 1, want: []int{1}},
		// nq: the first idle server at once, even against higher weight.
		{name: "nq", weights: []int{1, 100, 1}, conns: [][2]int{{0, 0}, {1, 0}, {0, 7}}, n: 1, want: []int{3}},
		{name: "nq", weights: []int{1, 100}, conns: [][2]int{{1, 0}, {2, 0}}, n: 1, want: []int{2}},
		// fo: highest weight, first in list.
		{name: "fo", weights: []int{5, 7, 7, 0}, n: 1, want: []int{3}},
		{name: "fo", weights: []int{5, 7}, over: []bool{false, true}, n: 1, want: []int{1}},
		// ovf: highest weight whose activeconns do not exceed it.
		{name: "ovf", weights: []int{2, 5}, conns: [][2]int{{0, 0}, {6, 0}}, n: 1, want: []int{1}},
		{name: "ovf", weights: []int{2, 5}, conns: [][2]int{{0, 0}, {5, 0}}, n: 1, want: []int{2}},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.name, i), func(t *testing.T) {
			s := mustNew(t, tt.name)
			addWeights(t, s, tt.weights...)
			for j, c := range tt.conns {
				if err := s.SetConns(rs(j+1), c[0], c[1]); err != nil {
					t.Fatal(err)
				}
			}
			for j, o := range tt.over {
				if o {
					// Overload through the threshold: 1 connection, upper 1.
					if err := s.Edit(Dest{Addr: rs(j + 1), Weight: tt.weights[j], UpperThreshold: 1}); err != nil {
						t.Fatal(err)
					}
					if err := s.Bind(rs(j+1), false); err != nil {
						t.Fatal(err)
					}
				}
			}
			got := picks(s, tt.n, same(k))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("picks = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRRRemoveCursor(t *testing.T) {
	s := mustNew(t, "rr")
	addWeights(t, s, 1, 1, 1, 1) // list 4 3 2 1
	if got := picks(s, 2, same(client(0))); fmt.Sprint(got) != "[4 3]" {
		t.Fatalf("picks = %v", got)
	}
	// Cursor on 3: removing it steps back to 4, so 2 is next.
	if err := s.Remove(rs(3)); err != nil {
		t.Fatal(err)
	}
	if got := picks(s, 3, same(client(0))); fmt.Sprint(got) != "[2 1 4]" {
		t.Fatalf("after remove picks = %v", got)
	}
}

func TestWRRResetOnChange(t *testing.T) {
	s := mustNew(t, "wrr")
	addWeights(t, s, 4, 3, 2)
	picks(s, 2, same(client(0))) // 3 2 at cw 1
	// Any change puts the cursor back to the head; cw 1 stays (di 1).
	if err := s.Edit(Dest{Addr: rs(3), Weight: 3}); err != nil {
		t.Fatal(err)
	}
	if got := picks(s, 3, same(client(0))); fmt.Sprint(got) != "[3 2 1]" {
		t.Fatalf("picks = %v", got)
	}
	// gcd 2 after the edit: cw = (cw/di)*di+1.
	s = mustNew(t, "wrr")
	addWeights(t, s, 8, 4)
	picks(s, 1, same(client(0))) // cw 1 -> rs2
	if err := s.Edit(Dest{Addr: rs(2), Weight: 6}); err != nil {
		t.Fatal(err)
	}
	// di 2, mw 7, cw (1/2)*2+1 = 1 from the head: 2 1, then cw 7: 1.
	if got := picks(s, 3, same(client(0))); fmt.Sprint(got) != "[2 1 1]" {
		t.Fatalf("picks = %v", got)
	}
}

func TestOverloadHysteresis(t *testing.T) {
	s := mustNew(t, "rr")
	if err := s.Add(Dest{Addr: rs(1), Weight: 1, UpperThreshold: 4}); err != nil {
		t.Fatal(err)
	}
	over := func() bool { d, _ := s.Dest(rs(1)); return d.Overloaded }
	for i := 0; i < 4; i++ {
		if over() {
			t.Fatalf("overloaded at %d conns", i)
		}
		if err := s.Bind(rs(1), true); err != nil {
			t.Fatal(err)
		}
	}
	if !over() {
		t.Fatal("not overloaded at upper threshold")
	}
	if _, ok := s.Pick(client(0)); ok {
		t.Fatal("picked an overloaded destination")
	}
	// 4 -> 3 keeps the flag; 3 -> 2 (below 75% of 4) clears it.
	_ = s.Unbind(rs(1), true)
	if !over() {
		t.Fatal("cleared at 3 conns")
	}
	_ = s.Unbind(rs(1), true)
	if over() {
		t.Fatal("still overloaded below the lower threshold")
	}
	// An explicit lower threshold.
	if err := s.Edit(Dest{Addr: rs(1), Weight: 1, UpperThreshold: 2, LowerThreshold: 1}); err != nil {
		t.Fatal(err)
	}
	if !over() {
		t.Fatal("threshold change did not re-evaluate (2 conns >= upper 2)")
	}
	_ = s.Unbind(rs(1), true)
	if !over() {
		t.Fatal("cleared at the lower threshold itself")
	}
	_ = s.Unbind(rs(1), true)
	if over() {
		t.Fatal("not cleared below the lower threshold")
	}
	d, _ := s.Dest(rs(1))
	if d.ActiveConns != 0 || d.InactConns != 0 {
		t.Fatalf("counters %+v", d)
	}
}

func TestHash32(t *testing.T) {
	// Values computed independently: (v * 0x61C88647 mod 2^32) >> (32-bits).
	for _, c := range []struct {
		v    uint32
		bits uint
		want uint32
	}{{0x0a000001, 8, 39}, {0x0a000002, 8, 137}, {0xc0a80001, 8, 192}, {0x0a000002, 10, 550}, {0xc0a80001, 10, 769}} {
		if got := hash32(c.v, c.bits); got != c.want {
			t.Errorf("hash32(%#x, %d) = %d, want %d", c.v, c.bits, got, c.want)
		}
	}
	if got := fold(netip.MustParseAddr("::ffff:10.0.0.1")); got != 0x0a000001 {
		t.Errorf("fold v4-mapped = %#x", got)
	}
	if got := fold(netip.MustParseAddr("2001:db8::1:0:0:1")); got != 0x20010db8^0x00010000^0x1 {
		t.Errorf("fold v6 = %#x", got)
	}
}

// sipRef is a plain SipHash-c-d over a byte message, checked against the
// reference vector below and then used to check the kernel's
// single-word hsiphash (SipHash-1-3 on 64-bit machines).
func sipRef(k0, k1 uint64, msg []byte, c, d int) uint64 {
	v0, v1, v2, v3 := k0^0x736f6d6570736575, k1^0x646f72616e646f6d, k0^0x6c7967656e657261, k1^0x7465646279746573
	rotl := func(x uint64, b uint) uint64 { return x<<b | x>>(64-b) }
	round := func() {
		v0 += v1
		v1 = rotl(v1, 13) ^ v0
		v0 = rotl(v0, 32)
		v2 += v3
		v3 = rotl(v3, 16) ^ v2
		v0 += v3
		v3 = rotl(v3, 21) ^ v0
		v2 += v1
		v1 = rotl(v1, 17) ^ v2
		v2 = rotl(v2, 32)
	}
	n := len(msg)
	for len(msg) >= 8 {
		m := uint64(0)
		for i := 7; i >= 0; i-- {
			m = m<<8 | uint64(msg[i])
		}
		v3 ^= m
		for i := 0; i < c; i++ {
			round()
		}
		v0 ^= m
		msg = msg[8:]
	}
	b := uint64(n) << 56
	for i := len(msg) - 1; i >= 0; i-- {
		b |= uint64(msg[i]) << (8 * i)
	}
	v3 ^= b
	for i := 0; i < c; i++ {
		round()
	}
	v0 ^= b
	v2 ^= 0xff
	for i := 0; i < d; i++ {
		round()
	}
	return v0 ^ v1 ^ v2 ^ v3
}

func TestHsiphash(t *testing.T) {
	// SipHash-2-4 reference vector: key 00..0f, empty message.
	if got := sipRef(0x0706050403020100, 0x0f0e0d0c0b0a0908, nil, 2, 4); got != 0x726fdb47dd0e0e31 {
		t.Fatalf("sipRef vector = %#x", got)
	}
	for _, v := range []uint32{0, 1, 0x0a000001 + 80, 0xdeadbeef, 0xffffffff} {
		msg := []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
		for _, k := range []hsiphashKey{mhKey1, mhKey2, {1, 2}} {
			want := uint32(sipRef(k[0], k[1], msg, 1, 3))
			if got := hsiphash32(v, &k); got != want {
				t.Errorf("hsiphash32(%#x, %v) = %#x, want %#x", v, k, got, want)
			}
		}
	}
}

func TestDH(t *testing.T) {
	s := mustNew(t, "dh")
	addWeights(t, s, 1, 1, 0) // list 3 2 1, buckets cycle 3 2 1 3 2 1...
	vip := func(a string) Key { return Key{Proto: TCP, Src: ap("192.168.0.1:1000"), Dst: ap(a)} }
	// 10.0.0.1 hashes to bucket 39 = 3*13, i.e. list position 0 (rs3, weight 0).
	if _, ok := s.Pick(vip("10.0.0.1:80")); ok {
		t.Fatal("weight-0 bucket picked")
	}
	// 10.0.0.2 -> bucket 137 = 3*45+2 -> rs1.
	if got := picks(s, 1, same(vip("10.0.0.2:80"))); got[0] != 1 {
		t.Fatalf("10.0.0.2 -> %v", got)
	}
	// 192.168.0.1 -> bucket 192 = 3*64 -> rs3 again; ports do not matter.
	if _, ok := s.Pick(vip("192.168.0.1:443")); ok {
		t.Fatal("weight-0 bucket picked")
	}
	if err := s.Remove(rs(3)); err != nil {
		t.Fatal(err)
	}
	// Two destinations now: bucket 39 odd -> rs1.
	if got := picks(s, 1, same(vip("10.0.0.1:80"))); got[0] != 1 {
		t.Fatalf("after remove 10.0.0.1 -> %v", got)
	}
}

func TestSH(t *testing.T) {
	s := mustNew(t, "sh")
	addWeights(t, s, 2, 1) // list 2(1) 1(2): buckets 2 1 1 2 1 1 ...
	src := func(a string) Key { return Key{Proto: TCP, Src: ap(a), Dst: ap("172.16.0.1:80")} }
	// 10.0.0.1 -> 39 = 3*13 -> rs2; 10.0.0.2 -> 137 = 3*45+2 -> rs1.
	if got := picks(s, 1, same(src("10.0.0.1:5"))); got[0] != 2 {
		t.Fatalf("10.0.0.1 -> %v", got)
	}
	if got := picks(s, 1, same(src("10.0.0.2:5"))); got[0] != 1 {
		t.Fatalf("10.0.0.2 -> %v", got)
	}
	// Quiesce rs2: without fallback no destination.
	if err := s.Edit(Dest{Addr: rs(2), Weight: 0}); err != nil {
		t.Fatal(err)
	}
	// Weight 0 still gets one bucket per cycle: 2 1 1 ... unchanged here?
	// Weight 0 -> one bucket, weight 2 -> two: same layout.
	if _, ok := s.Pick(src("10.0.0.1:5")); ok {
		t.Fatal("quiesced destination picked")
	}
	f := mustNew(t, "sh", Config{Flags: FlagFallback})
	addWeights(t, f, 2, 1)
	_ = f.Edit(Dest{Addr: rs(2), Weight: 0})
	// Fallback walks (offset + 2*ihash) & 255 from offset 0: 78 -> 78%3=0 -> rs2, 79 -> rs1.
	if got := picks(f, 1, same(src("10.0.0.1:5"))); got[0] != 1 {
		t.Fatalf("fallback -> %v", got)
	}
	// With the port flag the source port is added to the address before hashing.
	p := mustNew(t, "sh", Config{Flags: FlagPort})
	addWeights(t, p, 1, 1, 1)
	// 10.0.0.0:1 -> hash of 0x0a000001 -> 39 -> position 0 -> rs3.
	if got := picks(p, 1, same(src("10.0.0.0:1"))); got[0] != 3 {
		t.Fatalf("port flag -> %v", got)
	}
	// UDP too, but not ICMP (port 0): 10.0.0.0 -> hash32(0x0a000000).
	icmp := Key{Proto: 1, Src: ap("10.0.0.1:0"), Dst: ap("172.16.0.1:0")}
	if got := picks(p, 1, same(icmp)); got[0] != 3 {
		t.Fatalf("icmp -> %v", got)
	}
}

func TestMHTable(t *testing.T) {
	for _, prime := range []int{251, 4093} {
		s := mustNew(t, "mh", Config{MHTableSize: prime})
		addWeights(t, s, 1, 2, 3, 0)
		a := s.alg.(*mhAlgo)
		count := map[int]int{}
		for _, x := range a.lookup {
			if x == nil {
				t.Fatal("empty slot")
			}
			b := x.d.Addr.Addr().As4()
			count[int(b[3])]++
		}
		if count[4] != 0 {
			t.Fatalf("weight-0 destination has %d slots", count[4])
		}
		// turns 1:2:3 -> slots in that ratio, within one round.
		r := prime / 6
		for i, w := range []int{1, 2, 3} {
			if c := count[i+1]; c < w*r-3 || c > w*r+3 {
				t.Errorf("prime %d: rs%d has %d slots, want about %d", prime, i+1, c, w*r)
			}
		}
	}
	// Removing one destination only moves its own slots (Maglev's point),
	// here exactly: other destinations keep most of theirs.
	s := mustNew(t, "mh")
	for i := 1; i <= 10; i++ {
		_ = s.Add(Dest{Addr: rs(i), Weight: 1})
	}
	before := append([]*dest(nil), s.alg.(*mhAlgo).lookup...)
	_ = s.Remove(rs(5))
	moved := 0
	for i, x := range s.alg.(*mhAlgo).lookup {
		if before[i] != x && before[i].d.Addr != rs(5) {
			moved++
		}
	}
	if moved > 4093/10 {
		t.Errorf("%d slots of remaining destinations moved", moved)
	}
}

func TestMHFallbackAndLastWeight(t *testing.T) {
	s := mustNew(t, "mh")
	addWeights(t, s, 1, 1)
	var k Key
	for i := 0; ; i++ {
		k = client(i)
		if a, _ := s.Pick(k); a == rs(1) {
			break
		}
	}
	// Weight 0 keeps last_weight, so the table still maps k to rs1.
	_ = s.Edit(Dest{Addr: rs(1), Weight: 0})
	if _, ok := s.Pick(k); ok {
		t.Fatal("quiesced destination picked without fallback")
	}
	f := mustNew(t, "mh", Config{Flags: FlagFallback})
	addWeights(t, f, 1, 1)
	_ = f.Edit(Dest{Addr: rs(1), Weight: 0})
	if a, ok := f.Pick(k); !ok || a != rs(2) {
		t.Fatalf("fallback picked %v %v", a, ok)
	}
}

func TestTwos(t *testing.T) {
	seq := []uint32{0, 0xffffffff}
	i := 0
	r := func() uint32 { v := seq[i%len(seq)]; i++; return v }
	s := mustNew(t, "twos", Config{Rand: r})
	addWeights(t, s, 1, 1, 2) // list 3(2) 2(1) 1(1), total 4 -> draws in [0,5)
	// r1 = 0 -> first (rs3); r2 = 4 -> 4-2-1-1 = 0 -> rs1. Both idle: keep rs3.
	if got := picks(s, 1, same(client(0))); got[0] != 3 {
		t.Fatalf("got %v", got)
	}
	// Load rs3: rs1 wins now.
	_ = s.SetConns(rs(3), 1, 0)
	if got := picks(s, 1, same(client(0))); got[0] != 1 {
		t.Fatalf("got %v", got)
	}
}

func TestTwosDistribution(t *testing.T) {
	var x uint64 = 1
	r := func() uint32 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return uint32(x >> 32) }
	s := mustNew(t, "twos", Config{Rand: r})
	addWeights(t, s, 1, 2, 3, 4)
	count := map[netip.AddrPort]int{}
	const n = 20000
	for i := 0; i < n; i++ {
		a, ok := s.Connect(client(i), true)
		if !ok {
			t.Fatal("no pick")
		}
		count[a]++
	}
	// Least-loaded choice keeps every server's load proportional to its
	// weight: each within 2% of its share.
	for i := 1; i <= 4; i++ {
		want := n * i / 10
		if c := count[rs(i)]; c < want-n/50 || c > want+n/50 {
			t.Errorf("rs%d got %d, want about %d", i, c, want)
		}
	}
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *fakeClock               { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func vipKey(i int) Key {
	return Key{Proto: TCP, Src: ap("192.168.0.1:1000"), Dst: netip.AddrPortFrom(netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}), 80)}
}

func TestLBLC(t *testing.T) {
	c := newClock()
	s := mustNew(t, "lblc", Config{Now: c.now, Expiration: time.Hour})
	addWeights(t, s, 1, 1) // list 2 1
	a, _ := s.Connect(vipKey(1), true)
	if a != rs(2) {
		t.Fatalf("first pick %v", a)
	}
	// wlc would now pick rs1, but the cache keeps vip 1 on rs2.
	if a, _ := s.Connect(vipKey(1), true); a != rs(2) {
		t.Fatalf("cached pick %v", a)
	}
	if a, _ := s.Pick(vipKey(2)); a != rs(1) {
		t.Fatalf("vip 2 pick %v", a)
	}
	// rs2 has 2 active > weight 1 and rs1 has 0*2 < 1: leave rs2.
	if a, _ := s.Pick(vipKey(1)); a != rs(1) {
		t.Fatalf("loaded pick %v", a)
	}
	// The entry now points at rs1; it expires an hour after its last use,
	// at the 30th minute tick after that.
	lc := s.alg.(*lblcAlgo)
	if lc.cache.entries != 2 {
		t.Fatalf("entries %d", lc.cache.entries)
	}
	c.add(59 * time.Minute)
	s.Pick(vipKey(3)) // ticks 1..59: full check at tick 30 keeps all (age 30m)
	if lc.cache.entries != 3 {
		t.Fatalf("entries after 59m %d", lc.cache.entries)
	}
	c.add(time.Minute) // tick 60 is the next full check: vip 1 and 2 are 60m old
	s.Pick(vipKey(4))
	if lc.cache.entries != 2 {
		t.Fatalf("entries after 60m %d, want 2 (vip 3 and 4)", lc.cache.entries)
	}
}

func TestLBLCGarbageCollection(t *testing.T) {
	c := newClock()
	s := mustNew(t, "lblc", Config{Now: c.now})
	addWeights(t, s, 1)
	lc := s.alg.(*lblcAlgo)
	for i := 0; i < lblcMaxSize*3/2+10; i++ {
		s.Pick(vipKey(i))
	}
	if lc.cache.entries != lblcMaxSize*3/2 {
		t.Fatalf("entries %d, want the cap %d", lc.cache.entries, lblcMaxSize*3/2)
	}
	// Entries younger than 6 minutes survive the over-size collection.
	c.add(5 * time.Minute)
	s.Pick(vipKey(0))
	if lc.cache.entries != lblcMaxSize*3/2 {
		t.Fatalf("young entries collected: %d", lc.cache.entries)
	}
	c.add(2 * time.Minute) // tick 6 and 7: entries 6 min old go, goal max/2
	s.Pick(vipKey(0))
	// Goal (24576-16384)*4/3 capped at 8192, collected whole buckets at a time.
	if lc.cache.entries > lblcMaxSize || lc.cache.entries < lblcMaxSize-100 {
		t.Fatalf("entries after collection %d", lc.cache.entries)
	}
}

func TestLBLCR(t *testing.T) {
	c := newClock()
	s := mustNew(t, "lblcr", Config{Now: c.now, Expiration: time.Hour})
	addWeights(t, s, 1, 1, 4) // list 3(4) 2 1
	k := vipKey(1)
	// wlc picks rs3 (weight 4) until its load passes its weight.
	for i := 0; i < 5; i++ {
		if a, _ := s.Connect(k, true); a != rs(3) {
			t.Fatalf("pick %d = %v", i, a)
		}
	}
	// rs3: 5 active > 4, rs2 idle: the set grows by wlc's pick (rs2).
	if a, _ := s.Connect(k, true); a != rs(2) {
		t.Fatalf("grown pick = %v", a)
	}
	en, _ := s.alg.(*lblcrAlgo).cache.get(k.Dst.Addr())
	if len(en.set) != 2 || en.set[0] != s.byKey[rs(2)] {
		t.Fatalf("set %v", en.set)
	}
	// The set's minimum (rs2, 257+1 per weight 1 vs rs3 5*257/4) serves.
	// After the expiration with no change, the most loaded member leaves.
	c.add(time.Hour + time.Second)
	s.Pick(k)
	en, _ = s.alg.(*lblcrAlgo).cache.get(k.Dst.Addr())
	if len(en.set) != 1 {
		t.Fatalf("set after expiration %d members", len(en.set))
	}
}

func TestRemoveAndRevive(t *testing.T) {
	s := mustNew(t, "wlc")
	addWeights(t, s, 1, 1)
	_ = s.Bind(rs(1), true)
	_ = s.Remove(rs(1))
	// A removed destination still holds connections (kernel dest trash).
	if err := s.Unbind(rs(1), true); err != nil {
		t.Fatal(err)
	}
	_ = s.Bind(rs(1), true)
	if err := s.Add(Dest{Addr: rs(1), Weight: 1}); err != nil {
		t.Fatal(err)
	}
	d, _ := s.Dest(rs(1))
	if d.ActiveConns != 1 {
		t.Fatalf("revived with %d active", d.ActiveConns)
	}
	if s.Dests()[0].Addr != rs(1) {
		t.Fatal("revived destination not at the list head")
	}
	if a, _ := s.Pick(client(0)); a != rs(2) {
		t.Fatalf("pick %v", a)
	}
}

// TestTwosHugeWeights drives the twos tree through weight sums beyond 2^31
// (where the kernel's loop runs) and back, checking every pick against the
// loop with the same random numbers.
func TestTwosHugeWeights(t *testing.T) {
	var x uint64 = 99
	next := func() uint32 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return uint32(x >> 16) }
	s := mustNew(t, "twos")
	check := func(step string) {
		for i := 0; i < 50; i++ {
			if got, want := twosPickBoth(s, next(), next()); got != want {
				t.Fatalf("%s: tree %v, loop %v", step, addrOf(got), addrOf(want))
			}
		}
	}
	addWeights(t, s, 3, 1<<30, 5, 1<<30, 7)
	check("below 2^31")
	_ = s.Edit(Dest{Addr: rs(3), Weight: 1 << 30})
	check("above 2^31")
	_ = s.Edit(Dest{Addr: rs(2), Weight: 2})
	_ = s.Edit(Dest{Addr: rs(4), Weight: 9})
	check("back below")
	for i := 1; i <= 5; i++ {
		_ = s.SetConns(rs(i), i%3, i)
	}
	check("loaded")
}

// TestNamesAreWhatNewAccepts pins sched.Names to New: every listed name
// builds a scheduler, and the slice is the caller's own.
func TestNamesAreWhatNewAccepts(t *testing.T) {
	names := Names()
	if len(names) != 14 {
		t.Fatalf("Names() = %v, want the 14 IPVS schedulers", names)
	}
	for _, n := range names {
		if _, err := New(n, nil); err != nil {
			t.Errorf("New(%q): %v", n, err)
		}
	}
	names[0] = "changed"
	if Names()[0] != "rr" {
		t.Fatal("Names returned a shared slice")
	}
}

// TestHAProxyNamesAreWhatParseBalanceAccepts pins HAProxyNames to
// ParseBalance.
func TestHAProxyNamesAreWhatParseBalanceAccepts(t *testing.T) {
	for _, n := range HAProxyNames() {
		arg := map[string]string{"hdr": "hdr(Host)", "url_param": "url_param id"}[n]
		if arg == "" {
			arg = n
		}
		if _, err := ParseBalance(arg, ""); err != nil {
			t.Errorf("ParseBalance(%q): %v", arg, err)
		}
	}
	if _, err := ParseBalance("bogus", ""); err == nil {
		t.Error("ParseBalance(bogus) accepted")
	}
	h := HAProxyNames()
	h[0] = "changed"
	if HAProxyNames()[0] != "roundrobin" {
		t.Fatal("HAProxyNames returned a shared slice")
	}
}
