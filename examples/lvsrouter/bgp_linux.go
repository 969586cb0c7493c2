package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
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

// sysctlDir is where the IPVS sysctls are (tests replace it).
var sysctlDir = "/proc/sys/net/ipv4/vs"

// setSloppy sets net.ipv4.vs.sloppy_tcp and sloppy_sctp to 1 where asked.
func setSloppy(tcp, sctp bool) error {
	var errs []error
	for name, on := range map[string]bool{"sloppy_tcp": tcp, "sloppy_sctp": sctp} {
		if !on {
			continue
		}
		if err := os.WriteFile(sysctlDir+"/"+name, []byte("1\n"), 0); err != nil {
			errs = append(errs, fmt.Errorf("net.ipv4.vs.%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
