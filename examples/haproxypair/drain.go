package main

import (
	"net/netip"
	"strconv"

	"github.com/lvskit/lvskit/fwmark"
)

// synDrop is the nftables rule that holds new connections to the VIP off
// while a node drains: SYNs to the VIP are dropped, not refused, so the
// clients' kernels retransmit them (after 1 s, then 3 s, 7 s...) and the
// retransmissions reach the peer once it holds the VIP. Its table is named
// for the VRID, so that nodes of different VRRP instances on one host keep
// theirs apart and a restarted node finds the one a crashed run left.
func synDrop(o *options) fwmark.SYNDrop {
	return fwmark.SYNDrop{Dsts: []netip.Addr{o.VIP.Addr()}, Table: "haproxypair_vrid" + strconv.Itoa(int(o.VRID))}
}
