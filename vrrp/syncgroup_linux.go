package vrrp

import "sync"

// syncGroup moves its members together.
type syncGroup struct {
	name    string
	members []*Instance
	mu      sync.Mutex
	faulty  map[*Instance]bool
}

func (g *syncGroup) setFault(in *Instance, fault bool) {
	g.mu.Lock()
	if g.faulty == nil {
		g.faulty = map[*Instance]bool{}
	}
	was := len(g.faulty) > 0
	if fault {
		g.faulty[in] = true
	} else {
		delete(g.faulty, in)
	}
	now := len(g.faulty) > 0
	g.mu.Unlock()
	if was == now {
		return
	}
	for _, m := range g.members {
		if m == in {
			in.groupFault = now
		} else {
			m.r.raise(m, event{kind: evGroupFault, fault: now})
		}
	}
}

func (g *syncGroup) broadcast(from *Instance, k eventKind) {
	for _, m := range g.members {
		if m != from {
			m.r.raise(m, event{kind: k})
		}
	}
}
