package main

import "github.com/lvskit/lvskit/ipvs"

// managedSet is the IPVS services the router manages, the ones it deletes
// once no longer wanted and at its stop: those of its plan once an apply
// has wanted them (plan), and those of earlier plans that no full apply
// has deleted since (gone). A map of every managed service's key held
// 1 MB at 10,000 services; the plan has them already. An apply asks the
// set only about the kernel's services its plan does not want (the
// Applier's ApplyConfig.Managed): those are managed when gone has them.
type managedSet struct {
	plan bool
	gone map[ipvs.ServiceKey]bool
}

// none reports whether no service is managed, of p the router's plan.
func (m *managedSet) none(p *Plan) bool {
	return (!m.plan || p == nil || len(p.Services) == 0) && len(m.gone) == 0
}

// beyond is ApplyConfig.Managed for an apply of the whole plan: the
// services it does not want are managed when an earlier plan had them.
func (m *managedSet) beyond(k ipvs.ServiceKey) bool { return m.gone[k] }

// replaced records that the plan old, managed or not, gave way to p with
// other services: old's services that p lacks stay managed until a full
// apply deletes them.
func (m *managedSet) replaced(old, p *Plan) {
	if !m.plan || old == nil || len(old.Services) == 0 {
		return
	}
	keep := make(map[ipvs.ServiceKey]bool, len(p.Services))
	for i := range p.Services {
		keep[p.Services[i].Service.Key()] = true
	}
	for i := range old.Services {
		if k := old.Services[i].Service.Key(); !keep[k] {
			if m.gone == nil {
				m.gone = map[ipvs.ServiceKey]bool{}
			}
			m.gone[k] = true
		}
	}
}

// all is ApplyConfig.Managed for the release at the stop: the plan's
// services and the gone ones.
func (m *managedSet) all(p *Plan) func(ipvs.ServiceKey) bool {
	keys := make(map[ipvs.ServiceKey]bool, len(m.gone))
	if m.plan && p != nil {
		for i := range p.Services {
			keys[p.Services[i].Service.Key()] = true
		}
	}
	for k := range m.gone {
		keys[k] = true
	}
	return func(k ipvs.ServiceKey) bool { return keys[k] }
}
