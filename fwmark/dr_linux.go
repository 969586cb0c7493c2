package fwmark

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Apply prepares the host as a Direct Routing real server, in the network
// namespace whose file is at the path netns ("" for the caller's, else
// e.g. "/run/netns/rs1"), and reports every change it made.
// Changes.Undo reverts them. On error, what was already done is undone.
//
// The nft table is lvskit's own (RealServer.Table): Apply replaces it and
// undo deletes it.
func (r RealServer) Apply(ctx context.Context, netns string) (Changes, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	var done Changes
	fail := func(err error) (Changes, error) { return nil, joinUndo(ctx, err, done) }
	switch r.Method {
	case DRSysctl:
		for _, v := range r.VIPs {
			cs, err := addAddr(ctx, netns, "lo", hostPrefix(v))
			if err != nil {
				return fail(err)
			}
			done = append(done, cs...)
		}
		cs, err := Sysctl{NetNS: netns}.SetARPForDR(ctx, r.Interface)
		if err != nil {
			return fail(err)
		}
		done = append(done, cs...)
	case DRARP, DRRedirect:
		// The ARP filter goes in before the VIPs so that no ARP reply for a
		// VIP ever leaves.
		cs, err := r.applyTable(ctx, netns)
		if err != nil {
			return fail(err)
		}
		done = append(done, cs...)
		if r.Method == DRARP {
			for _, v := range r.VIPs {
				cs, err := addAddr(ctx, netns, r.Interface, hostPrefix(v))
				if err != nil {
					return fail(err)
				}
				done = append(done, cs...)
			}
		}
	}
	return done, nil
}

func (r RealServer) applyTable(ctx context.Context, netns string) (Changes, error) {
	return installTable(ctx, netns, r.tableSpec(), len(r.drRules()))
}

// Remove deletes lvskit's real-server nft table, if there is one; use it
// when the Changes of Apply are lost (after a restart).
func (r RealServer) Remove(ctx context.Context, netns string) (bool, error) {
	if r.Method == DRSysctl {
		return false, nil
	}
	n, err := newNftConn(netns)
	if err != nil {
		return false, err
	}
	defer n.close()
	spec := r.tableSpec()
	return n.remove(ctx, spec.family, spec.name)
}

func (r RealServer) tableSpec() tableSpec {
	if r.Method == DRRedirect {
		cs := chainSpec{name: "prerouting", typ: nftables.ChainTypeNAT,
			hook: nftables.ChainHookPrerouting, prio: nftables.ChainPriorityNATDest}
		for _, dr := range r.drRules() {
			proto, off := byte(unix.NFPROTO_IPV4), uint32(16)
			if dr.vip.Is6() {
				proto, off = unix.NFPROTO_IPV6, 24
			}
			e := []expr.Any{
				&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
			}
			e = append(e, prefixMatch(hostPrefix(dr.vip), expr.PayloadBaseNetworkHeader, off)...)
			e = append(e,
				&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{byte(dr.svc.Protocol)}},
			)
			e = append(e, portMatch(Port(dr.svc.Port))...)
			e = append(e, &expr.Redir{})
			cs.rules = append(cs.rules, ruleSpec{dr.comment, e})
		}
		return tableSpec{family: nftables.TableFamilyINet, name: r.table(), chains: []chainSpec{cs}}
	}
	// The arp family numbers its hooks apart from inet: NF_ARP_IN is 0,
	// NF_ARP_OUT is 1.
	in := chainSpec{name: "input", typ: nftables.ChainTypeFilter, hook: nftables.ChainHookRef(nfARPIn), prio: nftables.ChainPriorityFilter}
	out := chainSpec{name: "output", typ: nftables.ChainTypeFilter, hook: nftables.ChainHookRef(nfARPOut), prio: nftables.ChainPriorityFilter}
	// Offsets in an Ethernet/IPv4 ARP packet: sender IP at 14, target IP
	// at 24.
	const spa, tpa = 14, 24
	for _, dr := range r.drRules() {
		vip := dr.vip.AsSlice()
		if dr.chain == "input" {
			in.rules = append(in.rules, ruleSpec{dr.comment, []expr.Any{
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: tpa, Len: 4},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: vip},
				&expr.Verdict{Kind: expr.VerdictDrop},
			}})
			continue
		}
		out.rules = append(out.rules, ruleSpec{dr.comment, []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: spa, Len: 4},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: vip},
			&expr.Immediate{Register: 1, Data: r.RealIP.AsSlice()},
			&expr.Payload{OperationType: expr.PayloadWrite, SourceRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: spa, Len: 4},
		}})
	}
	return tableSpec{family: nftables.TableFamilyARP, name: r.table(), chains: []chainSpec{in, out}}
}

// routeHandle opens an rtnetlink handle in the namespace at path ns ("":
// the caller's). The namespace file is needed only while the handle's
// socket is created.
func routeHandle(ns string) (*netlink.Handle, error) {
	f, err := openNetNS(ns)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return netlink.NewHandle(unix.NETLINK_ROUTE)
	}
	defer f.Close()
	return netlink.NewHandleAt(netns.NsHandle(int(f.Fd())), unix.NETLINK_ROUTE)
}

// withRoute runs fn with a short-lived rtnetlink handle in the namespace.
func withRoute(netns string, fn func(*netlink.Handle) error) error {
	h, err := routeHandle(netns)
	if err != nil {
		return fmt.Errorf("fwmark: netlink: %w", err)
	}
	defer h.Close()
	return fn(h)
}

func toIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// addAddr adds p to iface unless it is there already.
func addAddr(ctx context.Context, netns string, iface string, p netip.Prefix) (Changes, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h, err := routeHandle(netns)
	if err != nil {
		return nil, fmt.Errorf("fwmark: netlink: %w", err)
	}
	defer h.Close()
	link, err := h.LinkByName(iface)
	if err != nil {
		return nil, fmt.Errorf("fwmark: interface %s: %w", iface, err)
	}
	fam := netlink.FAMILY_V4
	if p.Addr().Is6() {
		fam = netlink.FAMILY_V6
	}
	addrs, err := h.AddrList(link, fam)
	if err != nil {
		return nil, fmt.Errorf("fwmark: addresses of %s: %w", iface, err)
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == p.Addr() {
			return nil, nil
		}
	}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: toIPNet(p)}); err != nil {
		return nil, fmt.Errorf("fwmark: add %s to %s: %w", p, iface, err)
	}
	return Changes{{
		Kind: "address", Target: iface + " " + p.String(), New: "present",
		undo: func(context.Context) error {
			return withRoute(netns, func(h *netlink.Handle) error {
				link, err := h.LinkByName(iface)
				if err != nil {
					return err
				}
				return h.AddrDel(link, &netlink.Addr{IPNet: toIPNet(p)})
			})
		},
	}}, nil
}

// ARP hook numbers from linux/netfilter_arp.h (not in x/sys/unix).
const (
	nfARPIn  = 0
	nfARPOut = 1
)
