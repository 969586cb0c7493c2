package vrrp

import (
	"context"
	"net/netip"
)

// startOwn starts the trackers of what the instance itself depends on:
// its interface (unless DontTrackPrimary) and its configured source
// address (TrackSource).
func (in *Instance) startOwn(ctx context.Context, cfg *Config, gen uint64) {
	if ti := ownInterfaces(cfg); len(ti) > 0 {
		in.watchLinks(ctx, ti, keyPrimary, gen)
	}
	if tracksSource(cfg) {
		in.watchSource(ctx, in.src, cfg.Interface, gen) // in.src: picked by open when not configured
	}
}

// watchSource faults the instance while src, the address its adverts
// leave from, is not an address of the interface named ifname; the
// Router's subscription reports it until ctx is done.
func (in *Instance) watchSource(ctx context.Context, src netip.Addr, ifname string, gen uint64) {
	t := &srcTracker{src: src, ifname: ifname,
		post: func(present bool) {
			if !present {
				in.r.log.Warn("vrrp: source address missing", "instance", in.cfg.Name, "address", src, "interface", ifname)
			}
			in.post(event{kind: evTrack, key: keySource, st: trackStatus{fault: !present}, gen: gen})
		}}
	if err := in.r.ifw.addSource(t); err != nil {
		in.r.log.Warn("vrrp: track source address", "instance", in.cfg.Name, "interface", ifname, "err", err)
	}
	context.AfterFunc(ctx, func() { in.r.ifw.removeSource(t) })
}
