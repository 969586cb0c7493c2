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
	// extra is when the next garp_extra_if round is due.
	extra time.Time
}

func (g *garpState) start(now time.Time, cfg *GARP) {
	*g = garpState{cfg: cfg}
	if cfg.Disabled {
		return
	}
	g.add(now, cfg.Repeat)
	if cfg.Delay > 0 {
		g.second = now.Add(cfg.Delay)
	}
	if cfg.Refresh > 0 {
		g.refresh = now.Add(cfg.Refresh)
	}
	if cfg.ExtraInterval > 0 && len(cfg.ExtraDevs) > 0 {
		g.extra = now.Add(cfg.ExtraInterval)
	}
}

// add queues a burst of n. Without an Interval the burst goes out at
// once. With one, keepalived sends the first message and keeps at most one
// more per address waiting for the interval to pass (a later one for the
// same address is merged into it), so a burst is at most two messages
// (measured with keepalived 2.2.7: vrrp_garp_master_repeat 3 with
// vrrp_garp_interval 0.1 sends two, 100 ms apart).
func (g *garpState) add(now time.Time, n int) {
	if n <= 0 {
		return
	}
	if g.left == 0 {
		g.next = now
	}
	g.left += n
	if g.cfg.Interval > 0 {
		g.left = min(g.left, 2)
	}
}

// lowerPrio starts the burst a master sends when it hears a
// lower-priority advert, and schedules the second one (keepalived's
// garp_lower_prio_repeat and garp_lower_prio_delay).
func (g *garpState) lowerPrio(now time.Time) {
	if g.cfg == nil || g.cfg.Disabled || g.cfg.LowerPrioRepeat <= 0 {
		return
	}
	g.add(now, g.cfg.LowerPrioRepeat)
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
		g.add(now, g.cfg.Repeat)
	}
	if !g.refresh.IsZero() && !g.refresh.After(now) {
		g.refresh = now.Add(g.cfg.Refresh)
		g.add(now, g.cfg.RefreshRepeat)
	}
	if !g.lower.IsZero() && !g.lower.After(now) {
		g.lower = time.Time{}
		g.add(now, g.cfg.LowerPrioRepeat)
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
	for _, t := range []time.Time{g.second, g.refresh, g.lower, g.extra} {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	if g.left > 0 && (d.IsZero() || g.next.Before(d)) {
		d = g.next
	}
	return d
}
