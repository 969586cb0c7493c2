package vrrp

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// readIf reads, on the netlink goroutine, the links named (every link
// when names is nil; a missing one is left out) and, with addrs, their
// addresses.
func (r *Router) readIf(names []string, addrs bool) (ifState, error) {
	st := ifState{links: map[string]linkState{}}
	err := r.netlink(func(h *netlink.Handle) error {
		var links []netlink.Link
		var errs []error
		if names == nil {
			all, err := h.LinkList()
			if err != nil {
				return err
			}
			links = all
		}
		for _, name := range names {
			l, err := h.LinkByName(name)
			switch {
			case err == nil:
				links = append(links, l)
			case !errors.As(err, new(netlink.LinkNotFoundError)):
				errs = append(errs, fmt.Errorf("interface %s: %w", name, err))
			}
		}
		for _, l := range links {
			a := l.Attrs()
			st.links[a.Name] = linkState{index: int32(a.Index), up: linkUp(a.RawFlags, uint8(a.OperState))}
		}
		if !addrs {
			return errors.Join(errs...)
		}
		st.addrs = map[netip.Addr][]int32{}
		add := func(l netlink.Link) {
			list, err := h.AddrList(l, netlink.FAMILY_ALL)
			for _, a := range list {
				if ip, ok := netip.AddrFromSlice(a.IP); ok {
					st.addrs[ip.Unmap()] = append(st.addrs[ip.Unmap()], int32(a.LinkIndex))
				}
			}
			errs = append(errs, err)
		}
		if names == nil {
			add(nil) // every address in one dump
		} else {
			for _, l := range links {
				add(l)
			}
		}
		return errors.Join(errs...)
	})
	return st, err
}
