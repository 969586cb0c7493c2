package check

import "time"

// targetPolicy is a target's policy as a Monitor keeps it. Targets whose
// built-in policies are equal share one (lvsrouter's 40,000 TCP checks
// have a handful of policies between them), and each keeps only the
// machine's state, machState, inline: no copy of the policy and no
// Machine of its own. A policy of another type makes a Machine per
// target, as Policy says.
type targetPolicy struct {
	kind policyKind
	ka   Keepalived // normal, for policyKeepalived
	hp   HAProxy    // normal, for policyHAProxy
	p    Policy     // for policyOther
	refs int        // targets holding it, for the Monitor's set
}

type policyKind uint8

const (
	policyOther policyKind = iota
	policyKeepalived
	policyHAProxy
)

// policies is a Monitor's set of shared built-in policies, keyed by their
// normal forms.
type policies struct {
	ka map[Keepalived]*targetPolicy
	hp map[HAProxy]*targetPolicy
}

// get returns the shared policy for p, taking a reference.
func (s *policies) get(p Policy) *targetPolicy {
	switch v := p.(type) {
	case *Keepalived:
		if v != nil {
			return s.get(*v)
		}
	case *HAProxy:
		if v != nil {
			return s.get(*v)
		}
	case Keepalived:
		v = v.normal()
		return share(&s.ka, v, targetPolicy{kind: policyKeepalived, ka: v})
	case HAProxy:
		v = v.normal()
		return share(&s.hp, v, targetPolicy{kind: policyHAProxy, hp: v})
	}
	return &targetPolicy{p: p, refs: 1}
}

// share returns the shared policy of key in set, a copy of like if there
// is none yet, taking a reference. The copy is made only then: taking
// like's address instead moved it to the heap on every call, 120 bytes of
// garbage per target added (4.8 MB at a start of 40,000 targets).
func share[P comparable](set *map[P]*targetPolicy, key P, like targetPolicy) *targetPolicy {
	tp := (*set)[key]
	if tp == nil {
		if *set == nil {
			*set = make(map[P]*targetPolicy)
		}
		tp = new(targetPolicy)
		*tp = like
		(*set)[key] = tp
	}
	tp.refs++
	return tp
}

// put drops a reference to tp, forgetting it with the last.
func (s *policies) put(tp *targetPolicy) {
	if tp.refs--; tp.refs > 0 {
		return
	}
	switch tp.kind {
	case policyKeepalived:
		delete(s.ka, tp.ka)
	case policyHAProxy:
		delete(s.hp, tp.hp)
	}
}

// omega reports whether a removed target that is up reports a final down
// transition.
func (tp *targetPolicy) omega() bool { return tp.kind == policyKeepalived && tp.ka.Omega }

// newMachine sets e's machine afresh under its policy.
func (e *entry) newMachine() {
	switch e.pol.kind {
	case policyKeepalived:
		e.st = e.pol.ka.init()
	case policyHAProxy:
		e.st = e.pol.hp.init()
	default:
		mach := e.pol.p.NewMachine()
		e.ext().mach = mach
		e.st = machState{up: mach.Up()}
	}
}

// start returns the delay before e's first check.
func (e *entry) start(jitter float64) time.Duration {
	switch e.pol.kind {
	case policyKeepalived:
		return e.pol.ka.start(jitter)
	case policyHAProxy:
		return e.pol.hp.start(jitter)
	}
	return e.x.mach.Start(jitter)
}

// observe folds r into e's machine (see Machine.Observe).
func (e *entry) observe(r Result) (next time.Duration, changed bool) {
	switch e.pol.kind {
	case policyKeepalived:
		return e.pol.ka.observe(&e.st, r)
	case policyHAProxy:
		return e.pol.hp.observe(&e.st, r)
	}
	next, changed = e.x.mach.Observe(r)
	e.st.up = e.x.mach.Up()
	return next, changed
}
