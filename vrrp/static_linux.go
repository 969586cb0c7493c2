package vrrp

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// SetStatic makes the namespace hold next in place of old: it removes the
// entries old has and next lacks (rules, then routes, then addresses, as
// keepalived does), then adds every entry of next (routes replace a route
// with the same key; addresses and rules already present stay). Call it
// with old nil at start, with both on reload (what stays is not touched)
// and with next nil on stop. An entry that fails does not stop the others;
// the errors are joined, each naming its entry.
func SetStatic(ctx context.Context, cfg *StaticConfig, old, next *Static) error {
	c, log := cfg.withDefaults()
	if next != nil {
		if err := next.Validate(); err != nil {
			return err
		}
	}
	h, err := staticHandle(c.NetNS)
	if err != nil {
		return err
	}
	defer h.Close()
	var errs []error
	apply := func(s *Static, on bool) {
		if s == nil {
			return
		}
		verb := "remove"
		if on {
			verb = "add"
		}
		link := func(name string) int {
			if name == "" {
				return 0
			}
			l, err := h.LinkByName(name)
			if err != nil {
				errs = append(errs, fmt.Errorf("vrrp: static: interface %s: %w", name, err))
				return -1
			}
			return l.Attrs().Index
		}
		step := func(what any, err error) {
			if err != nil {
				errs = append(errs, fmt.Errorf("vrrp: static: %s %v: %w", verb, what, err))
				return
			}
			log.Debug("vrrp: static "+verb, "entry", fmt.Sprint(what))
		}
		rules := func() {
			for _, r := range s.Rules {
				step(r, setRule(h, nlRule(r, r.IPv6), on))
			}
		}
		routes := func() {
			for _, r := range s.Routes {
				if i := link(r.Dev); i >= 0 {
					step(r.Dst, setRoute(h, nlRoute(r, i), on))
				}
			}
		}
		addrs := func() {
			for _, v := range s.Addrs {
				i := link(v.Dev)
				if i < 0 {
					continue
				}
				l := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: i, Name: v.Dev}}
				var err error
				if on {
					if err = h.AddrAdd(l, nlAddr(v)); errors.Is(err, syscall.EEXIST) {
						err = nil
					}
				} else if err = h.AddrDel(l, nlAddr(v)); errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.ENOENT) {
					err = nil
				}
				step(v.Prefix, err)
			}
		}
		if on { // addresses first: routes may use them as source
			addrs()
			routes()
			rules()
		} else {
			rules()
			routes()
			addrs()
		}
	}
	gone := staticDiff(old, next)
	apply(&gone, false)
	if err := ctx.Err(); err != nil {
		return errors.Join(append(errs, err)...)
	}
	apply(next, true)
	return errors.Join(errs...)
}

// staticHandle opens a netlink handle in the namespace at path (empty:
// the caller's).
func staticHandle(path string) (*netlink.Handle, error) {
	ns := netns.None()
	if path != "" {
		var err error
		if ns, err = netns.GetFromPath(path); err != nil {
			return nil, fmt.Errorf("vrrp: netns %s: %w", path, err)
		}
		defer ns.Close()
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("vrrp: netlink: %w", err)
	}
	return h, nil
}

// KeepStatic restores at once any tracked entry of s (one without
// NoTrack) that someone deletes, as keepalived restores its static
// addresses, routes and rules ("Restoring deleted static ..."). It
// returns once it watches; it stops at the end of ctx, and the returned
// channel is closed then. Stop it before SetStatic moves s (a reload, a
// stop), and start it again with the new Static, so that SetStatic's own
// deletions are left alone.
func KeepStatic(ctx context.Context, cfg *StaticConfig, s *Static) (<-chan struct{}, error) {
	c, log := cfg.withDefaults()
	h, err := staticHandle(c.NetNS)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	index := func(name string) int {
		if name == "" {
			return 0
		}
		if l, err := h.LinkByName(name); err == nil {
			return l.Attrs().Index
		}
		return -1
	}
	// Each tracked entry, by key, as a Static of its own to add back.
	kept := map[netKey]Static{}
	for _, v := range s.Addrs {
		if i := index(v.Dev); !v.NoTrack && i > 0 {
			kept[addrKey(i, v.Prefix)] = Static{Addrs: []VIP{v}}
		}
	}
	for _, r := range s.Routes {
		if i := index(r.Dev); !r.NoTrack && i >= 0 {
			kept[routeKey(r, i)] = Static{Routes: []Route{r}}
		}
	}
	for _, r := range s.Rules {
		if !r.NoTrack {
			kept[ruleKey(r, r.IPv6)] = Static{Rules: []Rule{r}}
		}
	}
	ns := netns.None()
	if c.NetNS != "" {
		if ns, err = netns.GetFromPath(c.NetNS); err != nil {
			return nil, fmt.Errorf("vrrp: netns %s: %w", c.NetNS, err)
		}
		defer ns.Close()
	}
	return watchNet(ctx, ns, entryGroups, func(ch netChange) {
		if !ch.del {
			return
		}
		for _, k := range ch.key.candidates() {
			e, ok := kept[k]
			if !ok {
				continue
			}
			log.Info("vrrp: restoring deleted static " + k.String())
			if err := SetStatic(ctx, &c, nil, &e); err != nil {
				log.Error("vrrp: restoring deleted static "+k.String(), "err", err)
			}
			return
		}
	}, nil)
}
