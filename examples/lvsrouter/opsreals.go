package main

import (
	"iter"
	"net/netip"

	"github.com/lvskit/lvskit/ipvs"
)

// opsReals is what opsState remembers of every virtual and real server:
// a service's quorum and a real server's health as last applied, and how
// often the real server's changed, for the notify FIFOs, the metrics and
// the status socket. The states are by position in plan, as the router's
// own (upState: 0 none, 1 down, 2 up), and the plan names them: at 40,000
// real servers that is 50 KB, where maps keyed by service and address
// held 2.8 MB. A change of layout carries each state to its service and
// address in the new plan (relayout); those the new plan lacks are kept
// by key in gone, as a map keyed by them kept everything it was ever told.
type opsReals struct {
	plan   *Plan
	reals  []uint8  // by real server, in plan order
	trans  []uint32 // transitions by real server; nil until the first
	quorum []uint8  // by service
	// gone holds the states of real servers and services no longer in
	// plan, until a plan has them again.
	gone    map[realKey]realStatus
	goneSvc map[ipvs.ServiceKey]bool
	// any is set once a state was recorded.
	any bool
}

// realStatus is a real server's last applied health.
type realStatus struct {
	up          bool
	transitions uint32
}

// realChange is a real server's health that desired applies: j is its
// place in its service's Reals.
type realChange struct {
	j  int32
	up bool
}

// follow makes p the plan o's states are by position in. same tells that
// p lists the services and real servers of old in the same places
// (Load's sameLayout): if o's states are by position in old, they stay
// where they are. Otherwise they are carried over by service key and
// address.
func (o *opsReals) follow(old, p *Plan, same bool) {
	switch {
	case o.plan == p:
	case same && o.plan == old && old != nil && len(o.quorum) == len(p.Services):
		o.plan = p
	default:
		o.relayout(p)
	}
}

// relayout carries the states from their positions in o's plan to those
// of the same service and address in p, or to gone.
func (o *opsReals) relayout(p *Plan) {
	old, reals, trans, quorum := o.plan, o.reals, o.trans, o.quorum
	n, _ := countChecks(p)
	o.plan = p
	o.reals = make([]uint8, n)
	o.quorum = make([]uint8, len(p.Services))
	o.trans = nil
	if trans != nil {
		o.trans = make([]uint32, n)
	}
	if !o.any {
		return
	}
	// old's services by key, with the position of their first real
	// server; carried marks the old real servers p has.
	type at struct{ i, k int32 }
	var byKey map[ipvs.ServiceKey]at
	if old != nil {
		byKey = make(map[ipvs.ServiceKey]at, len(old.Services))
		k := 0
		for i := range old.Services {
			byKey[old.Services[i].Service.Key()] = at{int32(i), int32(k)}
			k += len(old.Services[i].Reals)
		}
	}
	carried := make([]bool, len(reals))
	k := 0
	for i := range p.Services {
		vs := &p.Services[i]
		key := vs.Service.Key()
		was, ok := byKey[key]
		if ok {
			o.quorum[i] = quorum[was.i]
			quorum[was.i] = 0
		} else if up, found := o.goneSvc[key]; found {
			o.quorum[i] = upState(up)
			delete(o.goneSvc, key)
		}
		var find func(netip.AddrPort) (int, bool)
		if ok {
			find = realFinder(old.Services[was.i].Reals)
		}
		for j := range vs.Reals {
			a := vs.Reals[j].Dest.Addr
			if ok {
				if oj, found := find(a); found {
					ko := int(was.k) + oj
					o.reals[k+j], carried[ko] = reals[ko], true
					if trans != nil {
						o.trans[k+j] = trans[ko]
					}
					continue
				}
			}
			if st, found := o.gone[realKey{key, a}]; found {
				o.set(k+j, st)
				delete(o.gone, realKey{key, a})
			}
		}
		k += len(vs.Reals)
	}
	if old == nil {
		return
	}
	k = 0
	for i := range old.Services {
		vs := &old.Services[i]
		key := vs.Service.Key()
		if up, seen := stateAt(quorum, i); seen {
			if o.goneSvc == nil {
				o.goneSvc = map[ipvs.ServiceKey]bool{}
			}
			o.goneSvc[key] = up
		}
		for j := range vs.Reals {
			if up, seen := stateAt(reals, k+j); seen && !carried[k+j] {
				if o.gone == nil {
					o.gone = map[realKey]realStatus{}
				}
				st := realStatus{up: up}
				if trans != nil {
					st.transitions = trans[k+j]
				}
				o.gone[realKey{key, vs.Reals[j].Dest.Addr}] = st
			}
		}
		k += len(vs.Reals)
	}
}

// realFinder returns a function that finds a real server's place in
// reals by address: first where it was asked for in the same order (a
// service unchanged), else by a scan, or by a map in a long service.
func realFinder(reals []RealServer) func(netip.AddrPort) (int, bool) {
	next := 0
	var m map[netip.AddrPort]int
	return func(a netip.AddrPort) (int, bool) {
		j := next
		next++
		if j < len(reals) && reals[j].Dest.Addr == a {
			return j, true
		}
		if len(reals) <= 16 {
			for j := range reals {
				if reals[j].Dest.Addr == a {
					return j, true
				}
			}
			return 0, false
		}
		if m == nil {
			m = make(map[netip.AddrPort]int, len(reals))
			for j := range reals {
				m[reals[j].Dest.Addr] = j
			}
		}
		j, ok := m[a]
		return j, ok
	}
}

// get returns the state of the real server at position k.
func (o *opsReals) get(k int) (st realStatus, seen bool) {
	st.up, seen = stateAt(o.reals, k)
	if seen && o.trans != nil {
		st.transitions = o.trans[k]
	}
	return st, seen
}

// set records the state of the real server at position k.
func (o *opsReals) set(k int, st realStatus) {
	o.any = true
	o.reals[k] = upState(st.up)
	if st.transitions != 0 && o.trans == nil {
		o.trans = make([]uint32, len(o.reals))
	}
	if o.trans != nil {
		o.trans[k] = st.transitions
	}
}

// setQuorum records the quorum of service i and returns the one
// reported before, if any.
func (o *opsReals) setQuorum(i int, up bool) (was, seen bool) {
	o.any = true
	was, seen = stateAt(o.quorum, i)
	o.quorum[i] = upState(up)
	return was, seen
}

// services yields every service with a reported quorum: the plan's in
// order, then those gone.
func (o *opsReals) services() iter.Seq2[ipvs.ServiceKey, bool] {
	return func(yield func(ipvs.ServiceKey, bool) bool) {
		if o.plan != nil {
			for i := range o.quorum {
				if up, seen := stateAt(o.quorum, i); seen && !yield(o.plan.Services[i].Service.Key(), up) {
					return
				}
			}
		}
		for k, up := range o.goneSvc {
			if !yield(k, up) {
				return
			}
		}
	}
}

// all yields every real server with its state: the plan's in order,
// then those gone.
func (o *opsReals) all() iter.Seq2[realKey, realStatus] {
	return func(yield func(realKey, realStatus) bool) {
		if o.plan != nil {
			k := 0
			for i := range o.plan.Services {
				vs := &o.plan.Services[i]
				key := vs.Service.Key()
				for j := range vs.Reals {
					if st, seen := o.get(k + j); seen && !yield(realKey{key, vs.Reals[j].Dest.Addr}, st) {
						return
					}
				}
				k += len(vs.Reals)
			}
		}
		for k, st := range o.gone {
			if !yield(k, st) {
				return
			}
		}
	}
}
