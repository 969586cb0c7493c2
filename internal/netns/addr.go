package netns

import (
	"net/netip"

	"github.com/vishvananda/netlink"
)

// HasAddr reports whether any interface of the namespace holds a: the
// check VRRP tests make to see who holds a virtual address.
func (n *NS) HasAddr(a netip.Addr) bool {
	addrs, err := n.nl.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return false
	}
	for _, x := range addrs {
		if ip, ok := netip.AddrFromSlice(x.IP); ok && ip.Unmap() == a {
			return true
		}
	}
	return false
}
