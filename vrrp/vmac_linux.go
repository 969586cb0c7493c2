package vrrp

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/bpf"
)

// VirtualMAC returns the virtual router MAC address for vrid: 00:00:5e:00:01:VRID
// for IPv4 and 00:00:5e:00:02:VRID for IPv6 (RFC 9568 7.3).
func VirtualMAC(vrid uint8, ipv6 bool) net.HardwareAddr {
	if ipv6 {
		return net.HardwareAddr{0, 0, 0x5e, 0, 2, vrid}
	}
	return net.HardwareAddr{0, 0, 0x5e, 0, 1, vrid}
}

// openVMAC creates the instance's macvlan (private mode, virtual MAC) on
// base, brings it up, and opens a send-only raw socket bound to it.
func (r *Router) openVMAC(in *Instance, base *net.Interface) (*net.Interface, *rawConn, error) {
	name := in.cfg.VMACName
	fail := func(err error) (*net.Interface, *rawConn, error) {
		return nil, nil, fmt.Errorf("vrrp: instance %s: vmac %s: %w", in.cfg.Name, name, err)
	}
	if old, err := r.nl.LinkByName(name); err == nil { // left over from a crash
		if err := r.nl.LinkDel(old); err != nil {
			return fail(err)
		}
	}
	mv := &netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{Name: name, ParentIndex: base.Index,
		HardwareAddr: VirtualMAC(in.cfg.VRID, false)}, Mode: netlink.MACVLAN_MODE_PRIVATE}
	if err := r.nl.LinkAdd(mv); err != nil {
		return fail(err)
	}
	r.vmacs = append(r.vmacs, mv)
	// Only the interface holding an address answers ARP for it (the base
	// must not answer for the VIP, nor the vmac for the base's addresses),
	// and ARP requests leaving the base name the base's own address rather
	// than the VIP, which would teach neighbours the base's MAC for it.
	for _, dev := range []string{base.Name, name} {
		err := inNS(r.cfg.NetNS, func() error {
			return errors.Join(
				os.WriteFile("/proc/sys/net/ipv4/conf/"+dev+"/arp_ignore", []byte("1"), 0o644),
				os.WriteFile("/proc/sys/net/ipv4/conf/"+dev+"/arp_announce", []byte("2"), 0o644))
		})
		if err != nil {
			return fail(err)
		}
	}
	if err := r.nl.LinkSetUp(mv); err != nil {
		return fail(err)
	}
	ifi, err := r.link(name)
	if err != nil {
		return fail(err)
	}
	var c *rawConn
	err = inNS(r.cfg.NetNS, func() error {
		var err error
		c, err = listenRaw(ifi, false)
		return err
	})
	if err != nil {
		return fail(err)
	}
	r.vmacConns = append(r.vmacConns, c)
	// The socket only sends; adverts are read on the base interface.
	drop, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
	if err == nil {
		err = c.p4.SetBPF(drop)
	}
	if err != nil {
		return fail(errors.Join(errors.New("drop filter"), err))
	}
	return ifi, c, nil
}
