package vrrp

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

// A master hearing a lower-priority master answers at once by default;
// with LowerPrioNoAdvert it waits for its next advert, and either way it
// reports the advert through LowerPriority.
func TestMasterLowerPriorityAdvert(t *testing.T) {
	for _, noAdvert := range []bool{false, true} {
		var heard []time.Time
		rec := &recorder{}
		m, err := NewMachine(Election{Version: 2, Priority: 255, Interval: time.Second, Primary: addrMid,
			LowerPrioNoAdvert: noAdvert, LowerPriority: func(now time.Time) { heard = append(heard, now) }}, rec)
		if err != nil {
			t.Fatal(err)
		}
		m.Start(t0)
		at := t0.Add(300 * time.Millisecond)
		m.Advert(at, addrLow, 100, 0)
		want := []uint8{255, 255}
		if noAdvert {
			want = want[:1]
		}
		if !slices.Equal(rec.sent, want) {
			t.Errorf("noAdvert=%v: sent %v, want %v", noAdvert, rec.sent, want)
		}
		if len(heard) != 1 || !heard[0].Equal(at) {
			t.Errorf("noAdvert=%v: LowerPriority called at %v", noAdvert, heard)
		}
		if m.State() != StateMaster {
			t.Errorf("noAdvert=%v: state %v", noAdvert, m.State())
		}
	}
}

// With HigherPrioSendAdvert a master sends one more advert before it
// steps down to a higher-priority one; without, it steps down silently.
func TestMasterHigherPrioritySendAdvert(t *testing.T) {
	for _, send := range []bool{false, true} {
		rec := &recorder{}
		m, err := NewMachine(Election{Version: 2, Priority: 100, Interval: time.Second, Primary: addrMid,
			HigherPrioSendAdvert: send}, rec)
		if err != nil {
			t.Fatal(err)
		}
		m.Start(t0)
		m.Tick(m.Deadline()) // master down: master
		before := len(rec.sent)
		m.Advert(m.Deadline().Add(-time.Millisecond), addrLow, 200, 0)
		if m.State() != StateBackup {
			t.Fatalf("send=%v: state %v", send, m.State())
		}
		got := rec.sent[before:]
		if send && !slices.Equal(got, []uint8{100}) || !send && len(got) != 0 {
			t.Errorf("send=%v: sent %v on stepping down", send, got)
		}
	}
}

// The lower-priority bursts: LowerPrioRepeat at once, and again after
// LowerPrioDelay; negative values send none.
func TestGARPLowerPriorityBursts(t *testing.T) {
	count := func(cfg GARP) map[time.Duration]int {
		c := Config{Name: "x", Interface: "eth0", VRID: 1, VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.1/32")}}, GARP: cfg}
		if err := c.normalize(); err != nil {
			t.Fatal(err)
		}
		c.GARP.Delay = -1 // only the lower-priority bursts
		var g garpState
		g.start(t0, &c.GARP)
		g.due(t0) // the takeover burst
		at := t0.Add(2 * time.Second)
		g.lowerPrio(at)
		sent := map[time.Duration]int{}
		now := at
		for range 100 {
			if n := g.due(now); n > 0 {
				sent[now.Sub(at)] += n
			}
			d := g.deadline()
			if d.IsZero() {
				break
			}
			now = d
		}
		return sent
	}
	if got := count(GARP{}); got[0] != 5 || got[5*time.Second] != 5 || len(got) != 2 {
		t.Errorf("defaults: %v, want 5 at once and 5 after 5s (keepalived: garp_master_repeat and delay)", got)
	}
	if got := count(GARP{LowerPrioRepeat: 2, LowerPrioDelay: -1}); got[0] != 2 || len(got) != 1 {
		t.Errorf("repeat 2, no delay: %v", got)
	}
	if got := count(GARP{LowerPrioRepeat: -1}); len(got) != 0 {
		t.Errorf("disabled: %v", got)
	}
}
