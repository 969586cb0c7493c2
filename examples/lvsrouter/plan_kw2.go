package main

import (
	"github.com/lvskit/lvskit/keepalivedconf"
)

// instanceTracking applies the vrrp_instance keywords about what an
// instance follows of its own: dont_track_primary (by default an instance
// goes to FAULT while its interface is down; with it, it does not) and
// track_src_ip (FAULT while the configured mcast_src_ip/unicast_src_ip is
// not on the interface; without a configured source, vrrp always follows
// the address it took from the interface, as keepalived does).
func instanceTracking(cfg *keepalivedconf.Config, p *Plan) {
	byName := map[string]*keepalivedconf.VRRPInstance{}
	for _, in := range cfg.Instances {
		byName[in.Name] = in
	}
	for i := range p.Instances {
		c := &p.Instances[i]
		in := byName[c.Name]
		if in == nil {
			continue
		}
		c.DontTrackPrimary = last(in, "dont_track_primary") != nil
		c.TrackSource = last(in, "track_src_ip") != nil
	}
}
