package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
)

// openVMAC creates the instance's macvlan (private mode, virtual MAC) on
// base and brings it up; adverts are then heard and sent on it.
//
// For IPv6 the kernel must not give the macvlan an address of its own:
// every router's vmac has the same MAC, so EUI-64 addresses would clash,
// and a backup's vmac sending router solicitations would teach the LAN's
// switches that the virtual MAC lives on the backup's port. Instead the
// vmac gets the advert source (the base's link-local address), which
// adverts and neighbour advertisements leave from.
func (r *Router) openVMAC(in *Instance, base *net.Interface) (*net.Interface, error) {
	name := in.cfg.VMACName
	ipv6 := in.cfg.ipv6()
	fail := func(err error) (*net.Interface, error) {
		return nil, fmt.Errorf("vrrp: instance %s: vmac %s: %w", in.cfg.Name, name, err)
	}
	if old, err := r.nl.LinkByName(name); err == nil { // left over from a crash
		if err := r.nl.LinkDel(old); err != nil {
			return fail(err)
		}
	}
	// TxQLen -1 leaves the kernel's default queue length (1000), as on
	// keepalived's vmac; netlink's zero value would set 0.
	mv := &netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{Name: name, ParentIndex: base.Index,
		HardwareAddr: VirtualMAC(in.cfg.VRID, ipv6), TxQLen: -1}, Mode: netlink.MACVLAN_MODE_PRIVATE}
	if err := r.nl.LinkAdd(mv); err != nil {
		return fail(err)
	}
	r.vmacs = append(r.vmacs, mv)
	// No automatic IPv6 addresses (nor the DAD, MLD and router
	// solicitations they bring) on the vmac, whatever the family.
	// (A kernel without IPv6 refuses; that only matters for IPv6.)
	if err := r.nl.LinkSetIP6AddrGenMode(mv, nl.IN6_ADDR_GEN_MODE_NONE); err != nil {
		if ipv6 {
			return fail(errors.Join(errors.New("addrgenmode none"), err))
		}
		r.log.Warn("vrrp: vmac addrgenmode none", "interface", name, "err", err)
	}
	// Only the interface holding an address answers ARP for it (the base
	// must not answer for the VIP, nor the vmac for the base's addresses),
	// and ARP requests leaving the base name the base's own address rather
	// than the VIP, which would teach neighbours the base's MAC for it.
	for _, dev := range []string{base.Name, name} {
		if ipv6 {
			break
		}
		err := inNS(r.cfg.NetNS, func() error {
			return errors.Join(
				os.WriteFile("/proc/sys/net/ipv4/conf/"+dev+"/arp_ignore", []byte("1"), 0o644),
				os.WriteFile("/proc/sys/net/ipv4/conf/"+dev+"/arp_announce", []byte("2"), 0o644))
		})
		if err != nil {
			return fail(err)
		}
	}
	if ipv6 {
		err := inNS(r.cfg.NetNS, func() error {
			return os.WriteFile("/proc/sys/net/ipv6/conf/"+name+"/router_solicitations", []byte("0"), 0o644)
		})
		if err != nil {
			return fail(err)
		}
		ll, err := r.vmacLinkLocal(in, base)
		if err != nil {
			return fail(err)
		}
		a := &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(ll, 64)), Flags: syscall.IFA_F_NODAD}
		if err := r.nl.AddrAdd(mv, a); err != nil {
			return fail(fmt.Errorf("link-local address %v: %w", ll, err))
		}
	}
	if err := r.nl.LinkSetUp(mv); err != nil {
		return fail(err)
	}
	ifi, err := r.link(name)
	if err != nil {
		return fail(err)
	}
	return ifi, nil
}

// vmacLinkLocal picks the link-local address an IPv6 vmac carries: the
// advert source when it is link-local (so that peers see the same router
// whichever interface an advert leaves from), else the base's first.
func (r *Router) vmacLinkLocal(in *Instance, base *net.Interface) (netip.Addr, error) {
	if in.src.IsLinkLocalUnicast() {
		return in.src, nil
	}
	addrs, err := r.nl.AddrList(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: base.Index}}, netlink.FAMILY_V6)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.IsLinkLocalUnicast() {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%s has no IPv6 link-local address: %w", base.Name, ErrInvalid)
}
