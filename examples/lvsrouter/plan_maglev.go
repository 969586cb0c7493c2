package main

import (
	"slices"

	"github.com/lvskit/lvskit/ipvs"
)

// Scale-out runs several directors behind ECMP, each with lb_algo mh, and
// counts on every director picking the same real server for a flow. The
// kernel's Maglev table depends on the order of the service's destination
// list, not only on the servers and weights (ipvs/apply_maglev.go has the
// facts), so lvsrouter gives every mh service's destinations in one
// canonical order and lets ipvs.ApplyConfig.MaglevOrder keep the kernel's
// list in it: directors with the same real servers build byte-identical
// tables whatever order their keepalived.conf lists the servers in, the
// order they started in and the reloads and health changes they went
// through.
//
// The canonical order puts the highest address at the head of the list.
// The kernel adds at the head, so a new server with an address above the
// others (the usual way a pool grows) costs one addition; a server added
// elsewhere re-adds each server above it (each one's connections see their
// packets dropped only between its delete and add, two netlink requests).

// maglevOrder sorts the destinations of every mh service in want into the
// canonical order, in place.
func maglevOrder(want []ipvs.Service) {
	for i := range want {
		s := &want[i]
		if s.Scheduler != "mh" || len(s.Destinations) < 2 {
			continue
		}
		slices.SortFunc(s.Destinations, func(a, b ipvs.Destination) int {
			return b.Addr.Compare(a.Addr)
		})
	}
}
