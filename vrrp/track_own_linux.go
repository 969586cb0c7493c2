package vrrp

import "net/netip"

// startOwn starts the trackers of what the instance itself depends on:
// its interface (unless DontTrackPrimary) and its configured source
// address (TrackSource); it returns the functions that remove them.
func (in *Instance) startOwn(cfg *Config, gen uint64) []func() {
	var removes []func()
	if ti := ownInterfaces(cfg); len(ti) > 0 {
		removes = append(removes, in.watchLinks(ti, keyPrimary, gen))
	}
	if tracksSource(cfg) {
		removes = append(removes, in.watchSource(in.src, cfg.Interface, gen)) // in.src: picked by open when not configured
	}
	return removes
}

// watchSource faults the instance while src, the address its adverts
// leave from, is not an address of the interface named ifname; the
// Router's subscription reports it until the function it returns is
// called.
func (in *Instance) watchSource(src netip.Addr, ifname string, gen uint64) (remove func()) {
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
	return func() { in.r.ifw.removeSource(t) }
}
