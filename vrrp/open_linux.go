package vrrp

import (
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func (r *Router) open() error {
	var err error
	r.nsh = netns.None()
	if r.cfg.NetNS != "" {
		if r.nsh, err = netns.GetFromPath(r.cfg.NetNS); err != nil {
			return fmt.Errorf("vrrp: netns %s: %w", r.cfg.NetNS, err)
		}
	}
	if r.nl, err = netlink.NewHandleAt(r.nsh, unix.NETLINK_ROUTE); err != nil {
		return fmt.Errorf("vrrp: netlink: %w", err)
	}
	r.conns = map[connKey]*rawConn{}
	r.rconns = nil
	if r.rx == nil {
		r.rx = new(rxBatch)
	}
	r.anns = map[connKey]*announcer{}
	r.byConn = map[connKey]map[uint8]*Instance{}
	r.links = map[string]*net.Interface{}
	r.addrs = map[connKey][]netlink.Addr{}
	for _, in := range r.instances {
		ifi, err := r.link(in.cfg.Interface)
		if err != nil {
			return fmt.Errorf("vrrp: instance %s: %w", in.cfg.Name, err)
		}
		in.ifi = ifi
		for _, v := range in.cfg.VIPs {
			if v.Dev != "" { // resolve now, so that the instance never asks netlink
				if _, err := r.link(v.Dev); err != nil {
					return fmt.Errorf("vrrp: instance %s: VIP %v: %w", in.cfg.Name, v.Prefix, err)
				}
			}
		}
		if err := in.pickSource(); err != nil {
			return err
		}
		// With VMAC the adverts are heard on the vmac, as keepalived
		// hears them: a peer's adverts come from the same virtual MAC,
		// and the macvlan driver hands a multicast frame whose source is
		// one of its own MACs to that macvlan only, never to the base.
		lifi := ifi
		var vm *net.Interface
		if in.cfg.VMAC {
			if vm, err = r.openVMAC(in, ifi); err != nil {
				return err
			}
			in.vmac, lifi = vm, vm
		}
		k := connKey{lifi.Index, in.cfg.ipv6()}
		c := r.conns[k]
		if c == nil {
			err = inNS(r.cfg.NetNS, func() error {
				var err error
				c, err = listenRaw(lifi, k.ipv6)
				return err
			})
			if err != nil {
				return err
			}
			c.ns = r.cfg.NetNS
			c.key = k
			c.insts = map[uint8]*Instance{}
			r.conns[k] = c
			r.rconns = append(r.rconns, c)
			r.byConn[k] = c.insts
		}
		if len(in.cfg.Peers) == 0 {
			if err := c.join(in.dst); err != nil {
				return err
			}
		}
		in.conn = c
		dsts := in.cfg.Peers
		if len(dsts) == 0 {
			dsts = []netip.Addr{in.dst}
		}
		sc := c
		if in.cfg.VMAC && in.cfg.VMACXmitBase {
			// vmac_xmit_base: adverts leave the base interface, with its
			// MAC; they are still heard on the vmac.
			sc = r.sendConn(ifi, k.ipv6)
		}
		if in.snd, err = sc.newSender(in.src, dsts); err != nil {
			return err
		}
		r.byConn[k][in.cfg.VRID] = in
		if in.cfg.FilterNonAccept && !in.cfg.Accept && in.cfg.Priority != 255 {
			nsfd := -1
			if r.cfg.NetNS != "" {
				nsfd = int(r.nsh)
			}
			in.filter = newAcceptFilter(nsfd, &in.cfg)
			if err := in.filter.clear(); err != nil {
				return fmt.Errorf("vrrp: instance %s: nftables: %w", in.cfg.Name, err)
			}
		}
		annIfi := lifi
		if in.cfg.GARP.Disabled {
			continue
		}
		in.ann = r.announcer(annIfi, k.ipv6)
		// A VIP on another interface (keepalived "dev") is announced out of
		// that interface, or its neighbours keep the old master's MAC.
		for _, v := range append(slices.Clip(in.cfg.VIPs), in.cfg.ExcludedVIPs...) {
			other := v.Prefix.Addr().Is6() != k.ipv6
			if !other && (v.Dev == "" || v.Dev == in.cfg.Interface) {
				continue
			}
			vifi := ifi
			if v.Dev != "" {
				if vifi, err = r.link(v.Dev); err != nil {
					return fmt.Errorf("vrrp: instance %s: VIP %v: %w", in.cfg.Name, v.Prefix, err)
				}
			}
			va := r.announcer(vifi, v.Prefix.Addr().Is6())
			m := &in.devAnn
			if other {
				m = &in.otherAnn
			}
			if *m == nil {
				*m = map[string]*announcer{}
			}
			(*m)[v.Dev] = va
		}
	}
	return nil
}

// sendConn returns a send-only conn on ifi (one per interface and family),
// for adverts that leave another interface than the one they are heard on.
func (r *Router) sendConn(ifi *net.Interface, ipv6 bool) *rawConn {
	for _, c := range r.sendConns {
		if c.ifi.Index == ifi.Index && c.ipv6 == ipv6 {
			return c
		}
	}
	c := &rawConn{ifi: ifi, ipv6: ipv6, ns: r.cfg.NetNS, fd: -1}
	r.sendConns = append(r.sendConns, c)
	return c
}

// announcer returns the router's announcer on ifi for the family, opening
// it on first use; nil when it cannot be opened (logged once: it is not
// retried per instance).
func (r *Router) announcer(ifi *net.Interface, ipv6 bool) *announcer {
	k := connKey{ifi.Index, ipv6}
	a, ok := r.anns[k]
	if !ok {
		var err error
		if a, err = openAnnouncer(r.cfg.NetNS, ifi, ipv6); err != nil {
			r.log.Warn("vrrp: gratuitous ARP/NA unavailable", "interface", ifi.Name, "err", err)
		}
		r.anns[k] = a
	}
	return a
}

func (r *Router) close() {
	for _, in := range r.instances { // normally removed already, on leaving master
		if in.filter != nil {
			if err := in.filter.set(false); err != nil {
				r.log.Warn("vrrp: non-accept filter", "instance", in.cfg.Name, "err", err)
			}
		}
	}
	for _, c := range r.conns {
		c.close()
	}
	for _, a := range r.anns {
		if a != nil {
			a.close()
		}
	}
	for _, c := range r.sendConns {
		c.close()
	}
	for _, l := range r.vmacs {
		if err := r.nl.LinkDel(l); err != nil {
			r.log.Warn("vrrp: delete vmac", "interface", l.Attrs().Name, "err", err)
		}
	}
	if r.nl != nil {
		r.nl.Close()
	}
	if r.cfg.NetNS != "" {
		r.nsh.Close()
	}
}

type nlRequest struct {
	fn   func(*netlink.Handle) error
	done chan error
}

// netlink runs fn on the router's netlink goroutine and waits for it.
func (r *Router) netlink(fn func(*netlink.Handle) error) error {
	done := make(chan error, 1)
	r.nlReq <- nlRequest{fn: fn, done: done}
	return <-done
}

// link looks an interface up inside the router's namespace.
func (r *Router) link(name string) (*net.Interface, error) {
	r.linkMu.Lock()
	defer r.linkMu.Unlock()
	if ifi, ok := r.links[name]; ok {
		return ifi, nil
	}
	r.nlMu.Lock()
	l, err := r.nl.LinkByName(name)
	r.nlMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", name, err)
	}
	a := l.Attrs()
	ifi := &net.Interface{Index: a.Index, MTU: a.MTU, Name: a.Name, HardwareAddr: a.HardwareAddr, Flags: a.Flags}
	r.links[name] = ifi
	return ifi, nil
}

// pickSource chooses the advert source address when none is configured.
func (in *Instance) pickSource() error {
	in.expect = Expect{Version: in.cfg.Version, VRID: in.cfg.VRID, AuthType: in.cfg.AuthType, AuthPass: in.cfg.authPass(),
		Interval: in.cfg.Interval, CheckAddrs: in.cfg.CheckAddrs, Peers: in.cfg.Peers}
	for _, v := range in.cfg.VIPs {
		in.expect.Addrs = append(in.expect.Addrs, v.Prefix.Addr())
	}
	if in.cfg.Source.IsValid() {
		in.src = in.cfg.Source
	} else {
		fam := netlink.FAMILY_V4
		if in.cfg.ipv6() {
			fam = netlink.FAMILY_V6
		}
		k := connKey{in.ifi.Index, in.cfg.ipv6()}
		addrs, ok := in.r.addrs[k]
		if !ok {
			var err error
			addrs, err = in.r.nl.AddrList(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: in.ifi.Index}}, fam)
			if err != nil {
				return fmt.Errorf("vrrp: instance %s: addresses of %s: %w", in.cfg.Name, in.cfg.Interface, err)
			}
			in.r.addrs[k] = addrs
		}
		for _, a := range addrs {
			ip, _ := netip.AddrFromSlice(a.IP)
			ip = ip.Unmap()
			if in.isVIP(ip) {
				continue
			}
			if in.cfg.ipv6() && !ip.IsLinkLocalUnicast() {
				continue
			}
			in.src = ip
			break
		}
		if !in.src.IsValid() {
			return fmt.Errorf("vrrp: instance %s: no usable source address on %s: %w", in.cfg.Name, in.cfg.Interface, ErrInvalid)
		}
	}
	in.expect.Self = in.src
	in.dst = in.cfg.group()
	return nil
}

func (in *Instance) isVIP(a netip.Addr) bool {
	for _, v := range in.cfg.VIPs {
		if v.Prefix.Addr() == a {
			return true
		}
	}
	return false
}
