package vrrp

import (
	"context"
	"net/netip"
	"sync"

	"github.com/vishvananda/netlink"
)

// startOwn starts the trackers of what the instance itself depends on:
// its interface (unless DontTrackPrimary) and its configured source
// address (TrackSource).
func (in *Instance) startOwn(ctx context.Context, wg *sync.WaitGroup, cfg *Config, gen uint64) {
	if ti := ownInterfaces(cfg); len(ti) > 0 {
		wg.Go(func() { in.trackInterfaces(ctx, ti, keyPrimary, gen) })
	}
	if tracksSource(cfg) {
		src, ifname := in.src, cfg.Interface // picked by open when not configured
		wg.Go(func() { in.trackSource(ctx, src, ifname, gen) })
	}
}

// trackSource faults the instance while src, the address its adverts
// leave from, is not an address of the interface named ifname.
func (in *Instance) trackSource(ctx context.Context, src netip.Addr, ifname string, gen uint64) {
	key := keySource
	ch := make(chan netlink.AddrUpdate, 64)
	done := make(chan struct{})
	defer close(done)
	ns := in.r.nsh
	err := netlink.AddrSubscribeWithOptions(ch, done, netlink.AddrSubscribeOptions{Namespace: &ns,
		ErrorCallback: func(err error) {
			if ctx.Err() == nil {
				in.r.log.Warn("vrrp: address subscription", "instance", in.cfg.Name, "err", err)
			}
		}})
	if err != nil {
		in.r.log.Error("vrrp: track source address", "instance", in.cfg.Name, "err", err)
		return
	}
	// The subscription is open before the list is read: a change in
	// between is seen twice, never missed.
	index, present := 0, false
	in.r.nlMu.Lock()
	l, err := in.r.nl.LinkByName(ifname)
	if err == nil {
		index = l.Attrs().Index
		var addrs []netlink.Addr
		addrs, err = in.r.nl.AddrList(l, netlink.FAMILY_ALL)
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == src {
				present = true
			}
		}
	}
	in.r.nlMu.Unlock()
	if err != nil {
		in.r.log.Warn("vrrp: track source address", "instance", in.cfg.Name, "interface", ifname, "err", err)
	}
	report := func() {
		if !present {
			in.r.log.Warn("vrrp: source address missing", "instance", in.cfg.Name, "address", src, "interface", ifname)
		}
		in.post(event{kind: evTrack, key: key, st: trackStatus{fault: !present}, gen: gen})
	}
	report()
	for {
		select {
		case <-ctx.Done():
			return
		case u, ok := <-ch:
			if !ok {
				return
			}
			ip, _ := netip.AddrFromSlice(u.LinkAddress.IP)
			if ip.Unmap() != src || (index != 0 && u.LinkIndex != index) {
				continue
			}
			if u.NewAddr != present {
				present = u.NewAddr
				report()
			}
		}
	}
}
