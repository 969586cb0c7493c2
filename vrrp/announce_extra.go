package vrrp

import "time"

// dueExtra reports whether a garp_extra_if round is due at now and, if so,
// schedules the next one ExtraInterval later.
func (g *garpState) dueExtra(now time.Time) bool {
	if g.cfg == nil || g.extra.IsZero() || g.extra.After(now) {
		return false
	}
	g.extra = now.Add(g.cfg.ExtraInterval)
	return true
}

// extraTargets returns, for each interface of ExtraDevs in order, the
// first VIP (then excluded VIP) on it: keepalived's
// vrrp_send_vmac_update sends one message per interface.
func extraTargets(g *GARP, vips, excluded []VIP) []VIP {
	var out []VIP
	for _, dev := range g.ExtraDevs {
		for _, v := range append(vips[:len(vips):len(vips)], excluded...) {
			if v.Dev == dev {
				out = append(out, v)
				break
			}
		}
	}
	return out
}
