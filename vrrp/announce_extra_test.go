package vrrp

import (
	"net/netip"
	"testing"
	"time"
)

// garp_extra_if: rounds every ExtraInterval after becoming master, one
// message per extra interface (its first VIP, else excluded VIP); none
// without extra interfaces.
func TestGARPExtraInterval(t *testing.T) {
	cfg := &GARP{Repeat: 1, Delay: -1, ExtraInterval: 2 * time.Second, ExtraDevs: []string{"eth1", "eth2"}}
	t0 := time.Unix(1000, 0)
	var g garpState
	g.start(t0, cfg)
	if n := g.due(t0); n != 1 || g.dueExtra(t0) {
		t.Fatalf("at start: %d, extra %v", n, g.dueExtra(t0))
	}
	if d := g.deadline(); !d.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("deadline %v", d)
	}
	var rounds []time.Duration
	for ms := 0; ms <= 7000; ms += 100 {
		now := t0.Add(time.Duration(ms) * time.Millisecond)
		if g.dueExtra(now) {
			rounds = append(rounds, now.Sub(t0))
		}
	}
	if len(rounds) != 3 || rounds[0] != 2*time.Second || rounds[1] != 4*time.Second || rounds[2] != 6*time.Second {
		t.Fatalf("extra rounds at %v", rounds)
	}
	vip := func(s, dev string) VIP { return VIP{Prefix: netip.MustParsePrefix(s), Dev: dev} }
	got := extraTargets(cfg, []VIP{vip("10.0.0.1/32", ""), vip("10.0.1.1/32", "eth1"), vip("10.0.1.2/32", "eth1")},
		[]VIP{vip("10.0.2.1/32", "eth2")})
	if len(got) != 2 || got[0].Prefix.Addr() != netip.MustParseAddr("10.0.1.1") || got[1].Dev != "eth2" {
		t.Fatalf("targets %v", got)
	}
	g.start(t0, &GARP{Repeat: 1, ExtraInterval: time.Second})
	if g.dueExtra(t0.Add(time.Hour)) {
		t.Fatal("extra round without extra interfaces")
	}
}
