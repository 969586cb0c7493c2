package vrrp

import (
	"net"
	"net/netip"
	"time"
)

// appendGARP appends a broadcast Ethernet frame carrying a gratuitous ARP
// request for ip from mac (sender and target address both ip, as keepalived
// sends them), which makes neighbours replace their cache entries.
func appendGARP(b []byte, mac net.HardwareAddr, ip netip.Addr) []byte {
	bcast := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	a := ip.As4()
	b = append(b, bcast...)
	b = append(b, mac...)
	b = append(b, 0x08, 0x06)                // ethertype ARP
	b = append(b, 0, 1, 0x08, 0, 6, 4, 0, 1) // Ethernet, IPv4, request
	b = append(b, mac...)
	b = append(b, a[:]...)
	b = append(b, bcast...)
	b = append(b, a[:]...)
	return b
}

// garpState paces announcements like keepalived: a burst of Repeat on
// becoming master, another Delay later, and RefreshRepeat every Refresh.
type garpState struct {
	cfg     *GARP
	left    int
	next    time.Time
	second  time.Time
	refresh time.Time
	// lower is the second burst after a lower-priority advert.
	lower time.Time
}

func (g *garpState) start(now time.Time, cfg *GARP) {
	*g = garpState{cfg: cfg}
	if cfg.Disabled {
		return
	}
	g.left, g.next = cfg.Repeat, now
	if cfg.Delay > 0 {
		g.second = now.Add(cfg.Delay)
	}
	if cfg.Refresh > 0 {
		g.refresh = now.Add(cfg.Refresh)
	}
}

// lowerPrio starts the burst a master sends when it hears a
// lower-priority advert, and schedules the second one (keepalived's
// garp_lower_prio_repeat and garp_lower_prio_delay).
func (g *garpState) lowerPrio(now time.Time) {
	if g.cfg == nil || g.cfg.Disabled || g.cfg.LowerPrioRepeat <= 0 {
		return
	}
	if g.left == 0 {
		g.next = now
	}
	g.left += g.cfg.LowerPrioRepeat
	if g.cfg.LowerPrioDelay > 0 {
		g.lower = now.Add(g.cfg.LowerPrioDelay)
	}
}

// due returns how many announcements to send at now and advances the
// schedule.
func (g *garpState) due(now time.Time) int {
	if g.cfg == nil {
		return 0
	}
	if !g.second.IsZero() && !g.second.After(now) {
		g.second = time.Time{}
		g.left, g.next = g.left+g.cfg.Repeat, now
	}
	if !g.refresh.IsZero() && !g.refresh.After(now) {
		g.refresh = now.Add(g.cfg.Refresh)
		g.left, g.next = g.left+g.cfg.RefreshRepeat, now
	}
	if !g.lower.IsZero() && !g.lower.After(now) {
		g.lower = time.Time{}
		if g.left == 0 {
			g.next = now
		}
		g.left += g.cfg.LowerPrioRepeat
	}
	n := 0
	for g.left > 0 && !g.next.After(now) {
		n++
		g.left--
		if g.cfg.Interval > 0 {
			g.next = now.Add(g.cfg.Interval)
		}
	}
	return n
}

func (g *garpState) deadline() time.Time {
	var d time.Time
	for _, t := range []time.Time{g.second, g.refresh, g.lower} {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	if g.left > 0 && (d.IsZero() || g.next.Before(d)) {
		d = g.next
	}
	return d
}
