package ipvs

import (
	"fmt"
	"net/netip"
)

// The kernel's mh scheduler (ip_vs_mh.c, Linux 6.1) builds its Maglev
// table from the service's destination list: the destinations take turns,
// in list order, claiming the next free slot of their own permutation, so
// the table depends on
//
//   - the list order, which is the reverse of the order of addition (a new
//     destination, or one taken back from the dest trash, goes to the head
//     of the list: list_add_rcu in __ip_vs_update_dest);
//   - each destination's last_weight, its last non-zero weight: an edit to
//     weight 0 keeps the old last_weight (the destination keeps its slots,
//     and lookups landing there fail or fall back), while an addition with
//     weight 0 sets it to 0 (the destination takes no slot at all);
//   - the gcd and the shift derived from those weights.
//
// The service flags mh-port and mh-fallback change only the lookup. So two
// directors with the same destinations and weights build different tables
// when they added them in different orders, or quiesced a destination in
// different ways. maglevDiff makes the table a function of the desired
// destinations alone: the kernel's list follows the desired order (head
// first), and a destination at weight 0 always has last_weight 0.

// isMaglev reports whether Diff keeps s's destination list in order.
func isMaglev(cfg *ApplyConfig, s *Service) bool {
	return cfg != nil && cfg.MaglevOrder && s.scheduler() == "mh"
}

// diffMaglev is diffService for an mh service under ApplyConfig.MaglevOrder.
// cur's destinations must be in the kernel's list order (a dump, or what an
// Applier applied with this option). The operations:
//
//   - destinations no longer wanted are deleted;
//   - a destination going to weight 0 is deleted and added again at weight
//     0 (last_weight 0: it leaves the table as a removed one would), and
//     one at weight 0 whose position in the list is unknown is left there,
//     taking no slot;
//   - of the destinations with a weight, the longest tail of the desired
//     order that the kernel already lists in that order stays (weight
//     edits in place keep the position); every one before it is, from the
//     last to the first, deleted and added again at once, so each lands at
//     the head in turn and the list ends in desired order. A destination
//     re-added this way comes back from the dest trash with its
//     connections, whose packets the kernel drops only between the two
//     operations.
func diffMaglev(ops []Op, cur, want *Service) ([]Op, error) {
	if cur == nil || !sameServiceConfig(cur, want) {
		if err := want.Validate(); err != nil {
			return nil, err
		}
	}
	if err := checkDests(want); err != nil {
		return nil, err
	}
	svc := bare(want)
	wd := want.Destinations
	if cur == nil {
		ops = append(ops, Op{Kind: OpNewService, Service: svc})
		for i := len(wd) - 1; i >= 0; i-- {
			ops = append(ops, Op{Kind: OpNewDestination, Service: svc, Destination: destConfig(&wd[i])})
		}
		return ops, nil
	}
	if !sameServiceConfig(cur, want) {
		ops = append(ops, Op{Kind: OpUpdateService, Service: svc})
	}
	pos := make(map[netip.AddrPort]int, len(cur.Destinations))
	for i := range cur.Destinations {
		pos[cur.Destinations[i].Addr] = i
	}
	wanted := make(map[netip.AddrPort]bool, len(wd))
	for i := range wd {
		wanted[wd[i].Addr] = true
	}
	for i := range cur.Destinations {
		if d := &cur.Destinations[i]; !wanted[d.Addr] {
			ops = append(ops, Op{Kind: OpDeleteDestination, Service: svc, Destination: destConfig(d)})
		}
	}
	readd := func(ops []Op, d *Destination, present bool) []Op {
		if present {
			ops = append(ops, Op{Kind: OpDeleteDestination, Service: svc, Destination: destConfig(d)})
		}
		return append(ops, Op{Kind: OpNewDestination, Service: svc, Destination: destConfig(d)})
	}
	// The destinations that take slots, in desired order.
	var visible []int
	for i := range wd {
		d := &wd[i]
		if d.Weight > 0 {
			visible = append(visible, i)
			continue
		}
		j, ok := pos[d.Addr]
		switch {
		case !ok || cur.Destinations[j].Weight > 0:
			ops = readd(ops, d, ok)
		case !sameDestConfig(&cur.Destinations[j], d):
			ops = append(ops, Op{Kind: OpUpdateDestination, Service: svc, Destination: destConfig(d)})
		}
	}
	// The longest tail of visible that the kernel lists in order, each
	// with a weight now (a weight-0 destination's place is unknown).
	keep, next := len(visible), len(cur.Destinations)
	for keep > 0 {
		j, ok := pos[wd[visible[keep-1]].Addr]
		if !ok || cur.Destinations[j].Weight <= 0 || j >= next {
			break
		}
		keep--
		next = j
	}
	for _, i := range visible[keep:] {
		if c := &cur.Destinations[pos[wd[i].Addr]]; !sameDestConfig(c, &wd[i]) {
			ops = append(ops, Op{Kind: OpUpdateDestination, Service: svc, Destination: destConfig(&wd[i])})
		}
	}
	for k := keep - 1; k >= 0; k-- {
		d := &wd[visible[k]]
		_, ok := pos[d.Addr]
		ops = readd(ops, d, ok)
	}
	return ops, nil
}

// MaglevTableKey returns what the kernel's mh table of s depends on, in
// the kernel's list order: each destination with a weight and that weight.
// Two services with equal keys (and the same table size) have identical
// tables; a Dump gives the list order, and a destination at weight 0 is
// left out, as diffMaglev ensures it takes no slot.
func MaglevTableKey(s *Service) string {
	key := fmt.Sprint(s.Key())
	for i := range s.Destinations {
		if d := &s.Destinations[i]; d.Weight > 0 {
			key += fmt.Sprintf(" %v*%d", d.Addr, d.Weight)
		}
	}
	return key
}
