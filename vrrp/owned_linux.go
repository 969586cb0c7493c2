package vrrp

import "context"

// own records (on) or forgets that in holds the entry with key k. Only
// tracked entries are recorded; an entry leaves before the instance
// deletes it, so that its own deletions never count.
func (r *Router) own(k netKey, in *Instance, on bool) {
	r.ownMu.Lock()
	defer r.ownMu.Unlock()
	if !on {
		if r.owned[k] == in {
			delete(r.owned, k)
		}
		return
	}
	if r.owned == nil {
		r.owned = map[netKey]*Instance{}
	}
	r.owned[k] = in
}

// tracksEntries tells whether any instance tracks a VIP, route or rule.
func (r *Router) tracksEntries() bool {
	for _, in := range r.instances {
		for _, l := range [][]VIP{in.cfg.VIPs, in.cfg.ExcludedVIPs} {
			for _, v := range l {
				if !v.NoTrack {
					return true
				}
			}
		}
		for _, rt := range in.cfg.Routes {
			if !rt.NoTrack {
				return true
			}
		}
		for _, ru := range in.cfg.Rules {
			if !ru.NoTrack {
				return true
			}
		}
	}
	return false
}

// watchOwned starts the Router's one netlink subscription: a tracked
// VIP, route or rule someone deletes makes its instance leave MASTER
// (keepalived's netlink reflector and set_vrrp_backup).
func (r *Router) watchOwned(ctx context.Context) (<-chan struct{}, error) {
	return watchNet(ctx, r.nsh, func(c netChange) {
		if !c.del {
			return
		}
		var in *Instance
		r.ownMu.Lock()
		for _, k := range c.key.candidates() {
			if in = r.owned[k]; in != nil {
				delete(r.owned, k) // gone; adding it again records it again
				break
			}
		}
		r.ownMu.Unlock()
		if in != nil {
			in.post(event{kind: evDeleted, key: c.key.String()})
		}
	})
}
