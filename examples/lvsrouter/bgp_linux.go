package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink"
)

// addVIP adds a VIP as a host prefix on an interface. It reports false when
// the address was there already (then it is not lvsrouter's to remove).
func addVIP(iface string, p netip.Prefix) (bool, error) {
	l, err := netlink.LinkByName(iface)
	if err != nil {
		return false, fmt.Errorf("vip_interface %s: %w", iface, err)
	}
	a := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
	if err := netlink.AddrAdd(l, a); err != nil {
		if errors.Is(err, syscall.EEXIST) {
			return false, nil
		}
		return false, fmt.Errorf("vip_interface %s: add %s: %w", iface, p, err)
	}
	return true, nil
}

// delVIP removes a VIP addVIP added.
func delVIP(iface string, p netip.Prefix) error {
	l, err := netlink.LinkByName(iface)
	if err != nil {
		return fmt.Errorf("vip_interface %s: %w", iface, err)
	}
	a := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
	if err := netlink.AddrDel(l, a); err != nil && !errors.Is(err, syscall.EADDRNOTAVAIL) {
		return fmt.Errorf("vip_interface %s: remove %s: %w", iface, p, err)
	}
	return nil
}
