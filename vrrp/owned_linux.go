package vrrp

import (
	"context"
	"slices"

	"golang.org/x/sys/unix"
)

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

// watch starts the Router's one netlink subscription. It reports links
// and addresses to the instances' interface and source-address trackers
// (ifWatch), and, when an instance tracks VIPs, routes or rules, the
// deletions of those: a tracked VIP, route or rule someone deletes makes
// its instance leave MASTER (keepalived's netlink reflector and
// set_vrrp_backup).
func (r *Router) watch(ctx context.Context) (<-chan struct{}, error) {
	groups := []uint{unix.RTNLGRP_LINK, unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR}
	if r.tracksEntries() {
		groups = append(slices.Clone(entryGroups), unix.RTNLGRP_LINK)
	}
	r.ifw.read, r.ifw.log = r.readIf, r.log
	return watchNet(ctx, r.nsh, groups, func(c netChange) {
		r.ifw.changed(c)
		if c.del && c.key.kind != keyLink {
			r.deleted(c.key)
		}
	}, r.ifw.resync)
}

// deleted makes the instance holding the entry with key k, if one does,
// leave MASTER.
func (r *Router) deleted(k netKey) {
	var in *Instance
	r.ownMu.Lock()
	for _, c := range k.candidates() {
		if in = r.owned[c]; in != nil {
			delete(r.owned, c) // gone; adding it again records it again
			break
		}
	}
	r.ownMu.Unlock()
	if in != nil {
		in.post(event{kind: evDeleted, key: k.String()})
	}
}
