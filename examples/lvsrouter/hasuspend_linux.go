package main

import (
	"net/netip"

	"github.com/vishvananda/netlink"
)

// subscribeAddrs sends the kernel's address events (RTM_NEWADDR,
// RTM_DELADDR, IPv4 and IPv6) to the returned channel until done is
// closed; the channel closes when the subscription ends, after onErr was
// told why if it failed.
func subscribeAddrs(done <-chan struct{}, onErr func(error)) (<-chan addrChange, error) {
	in := make(chan netlink.AddrUpdate, 64)
	if err := netlink.AddrSubscribeWithOptions(in, done, netlink.AddrSubscribeOptions{ErrorCallback: onErr}); err != nil {
		return nil, err
	}
	out := make(chan addrChange, 64)
	go func() {
		defer close(out)
		for u := range in {
			a, ok := netip.AddrFromSlice(u.LinkAddress.IP)
			if !ok {
				continue
			}
			select {
			case out <- addrChange{ifAddr{u.LinkIndex, a.Unmap()}, u.NewAddr}:
			case <-done:
				// Drain so the subscription's goroutine can end.
				for range in {
				}
				return
			}
		}
	}()
	return out, nil
}

// listAddrs lists the addresses of every interface.
func listAddrs() ([]ifAddr, error) {
	as, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, err
	}
	out := make([]ifAddr, 0, len(as))
	for _, x := range as {
		if a, ok := netip.AddrFromSlice(x.IP); ok {
			out = append(out, ifAddr{x.LinkIndex, a.Unmap()})
		}
	}
	return out, nil
}
