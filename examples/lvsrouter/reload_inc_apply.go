package main

import (
	"slices"

	"github.com/lvskit/lvskit/ipvs"
)

// The incremental apply: a reload that changed one virtual_server block,
// or a health change of one real server, recomputes the desired state of
// the services it touches and diffs only those against what the Applier
// last applied (Applier.ApplyServices), instead of all 10,000. The rule
// that makes it safe, tested as a property in reload_inc_apply_test.go:
// services, scripts, mails and reported states equal those of a full
// recompute. It holds because a service's desired state, and what
// computing it reports (notify and quorum scripts, mails, ops states),
// depend only on its plan entry and on the state of its own checks, and
// computing it again from unchanged inputs changes nothing (quorum with
// hysteresis is idempotent); so the services nothing touched would
// report nothing and give what the Applier holds already.
//
// Whatever else changes (the plan's layout, a plan read in full, a failed
// apply, a router without an Applier yet) recomputes everything.

// planDelta is what an incremental read changed: the plan whose
// services start at services differs from the plan whose services start
// at base (the first elements of their Services arrays, which name the
// arrays while both plans live: restrict copies a Plan but keeps its
// Services, and a copy given other services no longer matches) at the
// positions changed. Router.Load uses it when it loads that plan over
// that base, and otherwise compares every service. It names the base by
// its array rather than its Plan, so that plans spliced one from another
// do not keep each other alive.
type planDelta struct {
	services, base *VirtualService
	n              int
	changed        []int
}

// setDelta records in p that it differs from base at the services changed.
func (p *Plan) setDelta(base *Plan, changed []int) {
	p.delta = nil
	if len(p.Services) == 0 || len(p.Services) != len(base.Services) {
		return
	}
	p.delta = &planDelta{&p.Services[0], &base.Services[0], len(p.Services), changed}
}

// changedSince returns the positions of p's services that differ from
// old's, and false when it does not know (then everything may differ).
// Plans sharing their services (an unchanged reload) differ nowhere.
func (p *Plan) changedSince(old *Plan) ([]int, bool) {
	if old == nil || len(p.Services) == 0 || len(p.Services) != len(old.Services) {
		return nil, false
	}
	if &p.Services[0] == &old.Services[0] {
		return []int{}, true
	}
	d := p.delta
	if d == nil || d.services != &p.Services[0] || d.base != &old.Services[0] || d.n != len(p.Services) {
		return nil, false
	}
	for _, i := range d.changed {
		if i < 0 || i >= len(p.Services) {
			return nil, false
		}
	}
	return d.changed, true
}

// release is the Router's release hook (Router.release, set by serve):
// the Router, having swapped a plan for one with another Services array,
// reads old's array no more. The next splice takes it (nextServices)
// instead of copying the 10,000 services into fresh memory: in a guest
// without hardware virtualization each fresh page of the array (1.5 MB, 372
// pages) is a slow fault. Nothing reads a released array: the Router's readers
// of r.plan take r.mu (or, for ha_suspend, run under hs.mu, which Load's
// own syncHASuspend takes before the release; opsState's, the status
// socket and metrics, read its own plan under its lock, which Load moves
// to the new plan first: opsState.setPlan); Load's own use of the old
// plan ends before; and the BGP speaker, which reads a plan outside the
// lock, runs only with a --bgp file, with which serve sets no hook. The
// mutex orders the Router's last reads before the splice's writes.
func (ir *incReload) release(old []VirtualService) {
	ir.released.Lock()
	ir.released.s = old
	ir.released.Unlock()
}

// nextServices returns a Services array for the plan spliced from ir.plan,
// with ir.plan's services (the caller replaces the one that changed): the
// copy the last full read made, or the array of ir.plan's predecessor
// once the Router has released it, brought up to date by copying the
// services that differ; otherwise a fresh copy.
func (ir *incReload) nextServices() []VirtualService {
	cur := ir.plan.Services
	if reloadReuse && len(ir.prev) == len(cur) && len(cur) > 0 {
		s, ok := ir.prev, ir.prevOwn
		if !ok {
			ir.released.Lock()
			s = ir.released.s
			ok = len(s) == len(cur) && &s[0] == &ir.prev[0]
			if ok {
				ir.released.s = nil
			}
			ir.released.Unlock()
		}
		ir.prevOwn = false
		if ok {
			for _, j := range ir.prevDiff {
				s[j] = cur[j]
			}
			return s
		}
	}
	return slices.Clone(cur)
}

// dirtySet is what changed since the last apply.
type dirtySet struct {
	// all asks for a full recompute.
	all bool
	// ids are check targets whose state or dynamic weight changed, svcs
	// the positions of services a reload changed.
	ids  []string
	svcs []int
}

// maxDirtyIDs bounds dirtySet.ids: beyond it (a start's first results, a
// network failure taking thousands of servers down) a full recompute is
// as cheap.
const maxDirtyIDs = 4096

// touch records that check id changed state or weight. r.mu is held.
func (r *Router) touch(id string) {
	d := &r.dirty
	if d.all {
		return
	}
	if len(d.ids) >= maxDirtyIDs {
		d.all, d.ids, d.svcs = true, nil, nil
		return
	}
	d.ids = append(d.ids, id)
}

// touchAll asks the next apply for a full recompute. r.mu is held.
func (r *Router) touchAll() { r.dirty = dirtySet{all: true} }

// checkIndex maps each check target ID of the plan to the position of
// its service, -1 for an ID that more than one service holds. It is built
// on the first incremental apply that needs it and kept while the plan's
// check IDs stay where they are (Load updates the services it changes).
type checkIndex map[string]int32

// buildCheckIndex indexes every check target of p.
func buildCheckIndex(p *Plan) checkIndex {
	_, n := countChecks(p)
	idx := make(checkIndex, n)
	for i := range p.Services {
		idx.add(&p.Services[i], int32(i))
	}
	return idx
}

// add indexes the check targets of vs, at position i.
func (idx checkIndex) add(vs *VirtualService, i int32) {
	for j := range vs.Reals {
		for _, c := range vs.Reals[j].Checks {
			if at, ok := idx[c.ID]; ok && at != i {
				idx[c.ID] = -1
				continue
			}
			idx[c.ID] = i
		}
	}
}

// remove forgets the check targets of vs, at position i (shared IDs stay
// marked shared).
func (idx checkIndex) remove(vs *VirtualService, i int32) {
	for j := range vs.Reals {
		for _, c := range vs.Reals[j].Checks {
			if idx[c.ID] == i {
				delete(idx, c.ID)
			}
		}
	}
}

// noteDelta records, at a Load that keeps the layout, the services the
// reload changed (from old to p) as dirty, and keeps the check index
// current. r.mu is held.
func (r *Router) noteDelta(old, p *Plan, changed []int) {
	if r.checks != nil {
		for _, i := range changed {
			r.checks.remove(&old.Services[i], int32(i))
		}
		for _, i := range changed {
			r.checks.add(&p.Services[i], int32(i))
		}
	}
	if !r.dirty.all {
		r.dirty.svcs = append(r.dirty.svcs, changed...)
	}
}

// dirtyServices returns the sorted positions of the services to
// recompute, and false when everything must be. r.mu is held.
func (r *Router) dirtyServices() ([]int, bool) {
	d := &r.dirty
	rep := &r.reported
	if d.all || r.plan == nil || rep.plan != r.plan || len(rep.services) != len(r.plan.Services) || len(rep.start) != len(r.plan.Services) {
		return nil, false
	}
	svcs := d.svcs
	if len(d.ids) > 0 {
		if r.checks == nil {
			r.checks = buildCheckIndex(r.plan)
		}
		for _, id := range d.ids {
			i, ok := r.checks[id]
			switch {
			case !ok:
				// A target no service holds (removed by a reload since):
				// it changes nothing.
			case i < 0:
				return nil, false
			default:
				svcs = append(svcs, int(i))
			}
		}
	}
	slices.Sort(svcs)
	svcs = slices.Compact(svcs)
	if len(svcs) > len(r.plan.Services)/4 {
		return nil, false
	}
	return svcs, true
}

// desiredChanged is desired for the services changed since the last
// apply: their IPVS services, in plan order, and full false; or, when it
// cannot tell what changed, every service (desired) and full true.
func (r *Router) desiredChanged() (want []ipvs.Service, full bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	svcs, ok := r.dirtyServices()
	if !ok {
		return r.desiredLocked(), true
	}
	r.dirty = dirtySet{}
	if len(svcs) == 0 {
		return nil, false
	}
	n := 0
	for _, i := range svcs {
		n += len(r.plan.Services[i].Reals)
	}
	all := make([]ipvs.Destination, n)
	want = make([]ipvs.Service, len(svcs))
	k := 0
	for j, i := range svcs {
		m := len(r.plan.Services[i].Reals)
		want[j] = r.desiredService(i, int(r.reported.start[i]), all[k:k:k+m])
		k += m
	}
	return want, false
}
