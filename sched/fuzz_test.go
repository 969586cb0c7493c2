package sched

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// driver applies a byte stream as a sequence of operations on a scheduler,
// checking invariants after each pick.
type driver struct {
	t    testing.TB
	s    *Scheduler
	name string
	clk  *fakeClock
}

func newDriver(t testing.TB, name string, flags uint32) *driver {
	clk := newClock()
	var x uint64 = 42
	r := func() uint32 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return uint32(x) }
	s, err := New(name, &Config{Flags: flags, Now: clk.now, Rand: r, MHTableSize: 251, Expiration: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return &driver{t: t, s: s, name: name, clk: clk}
}

func (d *driver) run(ops []byte) {
	for len(ops) >= 3 {
		op, a, b := ops[0], ops[1], ops[2]
		ops = ops[3:]
		addr := rs(int(a % 24))
		switch op % 10 {
		case 0:
			_ = d.s.Add(Dest{Addr: addr, Weight: int(b % 8), UpperThreshold: uint32(b>>3) % 6})
		case 1:
			_ = d.s.Edit(Dest{Addr: addr, Weight: int(b % 8), UpperThreshold: uint32(b>>3) % 6, LowerThreshold: uint32(b>>6) % 3})
		case 2:
			_ = d.s.Remove(addr)
		case 3:
			_ = d.s.Bind(addr, b&1 == 0)
		case 4:
			_ = d.s.Unbind(addr, b&1 == 0)
		case 5:
			if b&1 == 0 {
				_ = d.s.Activate(addr)
			} else {
				_ = d.s.Deactivate(addr)
			}
		case 6:
			_ = d.s.SetConns(addr, int(b%5), int(b/5%7))
		case 7:
			d.clk.add(time.Duration(b) * 10 * time.Second)
		default:
			k := Key{Proto: []Protocol{TCP, UDP, 1}[b%3],
				Src: rs(int(a)<<4 | int(b)), Dst: rs(int(b % 7))}
			d.pick(k, op%10 == 9)
		}
	}
}

func (d *driver) pick(k Key, bind bool) {
	s := d.s
	var want *dest
	if _, ok := s.alg.(*leastAlgo); ok {
		want = refScan(s, d.name)
	}
	if _, ok := s.alg.(*twosAlgo); ok {
		// Same two random numbers for the tree and the kernel's loop.
		x, want := twosPickBoth(s, s.cfg.rand(), s.cfg.rand())
		if x != want {
			d.t.Fatalf("twos: tree picked %v, kernel loop %v", addrOf(x), addrOf(want))
		}
	}
	x := s.alg.pick(k)
	if want != nil || x != nil {
		if _, ok := s.alg.(*leastAlgo); ok && want != x {
			d.t.Fatalf("%s: tree picked %v, kernel scan %v", d.name, addrOf(x), addrOf(want))
		}
	}
	if x == nil {
		return
	}
	if s.byKey[x.d.Addr] != x {
		d.t.Fatalf("%s picked %v which is not in the service", d.name, x.d.Addr)
	}
	if x.d.Weight <= 0 {
		d.t.Fatalf("%s picked %v with weight %d", d.name, x.d.Addr, x.d.Weight)
	}
	// lblc keeps a cached server regardless of its overload flag, as the
	// kernel does; everything else honours it.
	if x.d.Overloaded && d.name != "lblc" {
		d.t.Fatalf("%s picked overloaded %v", d.name, x.d.Addr)
	}
	if bind {
		s.bind(x, k.Proto == TCP)
	}
}

func addrOf(x *dest) any {
	if x == nil {
		return "none"
	}
	return x.d.Addr
}

func TestTreeMatchesKernelScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"lc", "wlc", "sed", "nq", "fo", "ovf", "twos"} {
		for round := 0; round < 30; round++ {
			ops := make([]byte, 3*2000)
			for i := range ops {
				ops[i] = byte(rng.Uint32())
			}
			newDriver(t, name, 0).run(ops)
		}
	}
}

func FuzzScheduler(f *testing.F) {
	f.Add(uint8(0), uint8(0), []byte{0, 1, 3, 0, 2, 5, 8, 0, 0, 9, 1, 1, 2, 1, 0, 9, 3, 3})
	f.Add(uint8(11), uint8(3), []byte{0, 1, 1, 0, 2, 0, 1, 2, 0, 9, 9, 9, 3, 1, 0, 3, 1, 0, 9, 0, 0})
	f.Fuzz(func(t *testing.T, which, flags uint8, ops []byte) {
		names := Names()
		name := names[int(which)%len(names)]
		newDriver(t, name, uint32(flags%4)<<3).run(ops)
	})
}

// FuzzHAProxy feeds arbitrary balance lines, weights and requests: parsing
// either fails cleanly or yields a balancer whose picks are always one of
// its servers with a non-zero weight.
func FuzzHAProxy(f *testing.F) {
	f.Add("uri whole depth 2", "consistent djb2", []byte{1, 2, 0, 3}, "/a/b?c=d&userid=1")
	f.Add("url_param userid", "map-based crc32 avalanche", []byte{0, 0, 1}, "/x?userid=7")
	f.Add("hdr(host) use_domain_only", "", []byte{5, 1}, "www.example.com")
	f.Add("roundrobin", "", []byte{1, 2, 3}, "")
	f.Add("random(3)", "", []byte{2, 2}, "")
	f.Add("rdp-cookie(mstshash)", "", []byte{1}, "user")
	f.Fuzz(func(t *testing.T, bal, ht string, weights []byte, in string) {
		b, err := ParseBalance(bal, ht)
		if err != nil {
			return
		}
		if len(weights) > 16 {
			weights = weights[:16]
		}
		var servers []Server
		for i, w := range weights {
			servers = append(servers, Server{Name: fmt.Sprint("s", i), Weight: int(w) % 257})
		}
		var x uint32 = 7
		h, err := NewHAProxy(b, servers, &HAProxyConfig{Rand: func() uint32 { x = x*1664525 + 1013904223; return x }})
		if err != nil {
			return
		}
		for i := 0; i < 8; i++ {
			name, ok := h.Pick(Request{Src: rs(i).Addr(), URI: in, RDPCookie: in,
				Header: func(string) string { return in }})
			if !ok {
				continue
			}
			found := false
			for _, s := range servers {
				if s.Name == name && s.Weight > 0 {
					found = true
				}
			}
			if !found {
				t.Fatalf("picked %q, not a usable server", name)
			}
			h.SetServed(name, i)
		}
	})
}
