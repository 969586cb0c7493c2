package check

import "time"

// Policy decides, from a target's check results, when it is up or down and
// when to check it next. A target changes state only through its policy.
type Policy interface {
	// NewMachine returns the state of one target under this policy.
	NewMachine() Machine
}

// Machine is one target's policy state. It is pure: time enters only as
// the delays it returns, so it can be driven step by step in tests.
type Machine interface {
	// Up reports the current state.
	Up() bool
	// Start returns the delay before the first check, given jitter in
	// [0, 1) from the caller, so that many targets do not start together.
	Start(jitter float64) time.Duration
	// Observe folds in one result. It returns the delay before the next
	// check and whether Up changed.
	Observe(r Result) (next time.Duration, changed bool)
}

// Keepalived is keepalived's checker policy (per real server checker).
//
// A target starts up, or down with Alpha. While it is up (or has not been
// checked yet) a failure is retried Retry times, DelayBeforeRetry apart,
// before it is marked down; a success marks it up at once. Checks
// otherwise run DelayLoop apart.
type Keepalived struct {
	// DelayLoop is the interval between checks; zero means 60 s, as in
	// keepalived.
	DelayLoop time.Duration
	// Retry is the number of retries after a failure before marking down.
	Retry int
	// DelayBeforeRetry separates retries; zero means 1 s.
	DelayBeforeRetry time.Duration
	// Warmup, when set, spreads the first check over [0, Warmup) instead
	// of [0, DelayLoop).
	Warmup time.Duration
	// Alpha starts the target down: it needs one success to come up.
	Alpha bool
	// Omega asks the Monitor to report a final down transition when the
	// target is removed or the Monitor closes (keepalived runs the down
	// notifiers on shutdown).
	Omega bool
}

// NewMachine implements Policy.
func (p Keepalived) NewMachine() Machine {
	p = p.normal()
	return &machine[Keepalived, *Keepalived]{p: p, s: p.init()}
}

// normal returns p with its zero fields at their defaults.
func (p Keepalived) normal() Keepalived {
	if p.DelayLoop <= 0 {
		p.DelayLoop = 60 * time.Second
	}
	if p.DelayBeforeRetry <= 0 {
		p.DelayBeforeRetry = time.Second
	}
	return p
}

// machState is the mutable state of a built-in policy's machine: a
// Monitor keeps it inline in each target, beside one shared copy of the
// policy, so that a target costs no machine of its own.
type machState struct {
	// n is keepalived's retry count or HAProxy's health counter.
	n      int32
	up     bool
	hasRun bool
}

// builtin is a built-in policy in its normal form, whose machine runs on
// a machState.
type builtin interface {
	start(jitter float64) time.Duration
	observe(s *machState, r Result) (next time.Duration, changed bool)
}

// machine is the Machine of a built-in policy P, for NewMachine's
// callers; a Monitor runs the same methods on its own machStates.
type machine[P any, PP interface {
	*P
	builtin
}] struct {
	p P // normal
	s machState
}

func (m *machine[P, PP]) Up() bool                      { return m.s.up }
func (m *machine[P, PP]) Start(j float64) time.Duration { return PP(&m.p).start(j) }
func (m *machine[P, PP]) Observe(r Result) (time.Duration, bool) {
	return PP(&m.p).observe(&m.s, r)
}

// init, start and observe are the machine of a normal p on state s.
func (p *Keepalived) init() machState { return machState{up: !p.Alpha} }

func (p *Keepalived) start(j float64) time.Duration {
	if p.Warmup > 0 {
		return time.Duration(j * float64(p.Warmup))
	}
	return time.Duration(j * float64(p.DelayLoop))
}

func (p *Keepalived) observe(s *machState, r Result) (time.Duration, bool) {
	first := !s.hasRun
	s.hasRun = true
	if r.Up {
		s.n = 0
		changed := !s.up
		s.up = true
		return p.DelayLoop, changed
	}
	if (s.up || first) && int(s.n) < p.Retry {
		s.n++
		return p.DelayBeforeRetry, false
	}
	s.n = 0
	changed := s.up
	s.up = false
	return p.DelayLoop, changed
}

// HAProxy is HAProxy's server check policy.
//
// A health counter runs from 0 to Rise+Fall-1; the target is up while it
// is at least Rise. A target starts up at Rise, so its first failure takes
// it down. Up at the top of the counter, checks run Inter apart; down at
// 0, DownInter apart; in between (going up or going down), FastInter apart.
type HAProxy struct {
	// Inter is the normal interval; zero means 2 s.
	Inter time.Duration
	// FastInter is used while the state is changing; zero means Inter.
	FastInter time.Duration
	// DownInter is used while fully down; zero means Inter.
	DownInter time.Duration
	// Rise successes bring a down target up; zero means 2.
	Rise int
	// Fall failures bring an up target down; zero means 3.
	Fall int
	// StartDown starts the target down at health 0 (HAProxy's
	// "init-state down" in newer releases) instead of up at Rise.
	StartDown bool
}

// NewMachine implements Policy.
func (p HAProxy) NewMachine() Machine {
	p = p.normal()
	return &machine[HAProxy, *HAProxy]{p: p, s: p.init()}
}

// normal returns p with its zero fields at their defaults.
func (p HAProxy) normal() HAProxy {
	if p.Inter <= 0 {
		p.Inter = 2 * time.Second
	}
	if p.FastInter <= 0 {
		p.FastInter = p.Inter
	}
	if p.DownInter <= 0 {
		p.DownInter = p.Inter
	}
	if p.Rise <= 0 {
		p.Rise = 2
	}
	if p.Fall <= 0 {
		p.Fall = 3
	}
	// The health counter is an int32: bound rise and fall so that it
	// cannot overflow (HAProxy's own limit is far lower).
	p.Rise, p.Fall = min(p.Rise, 1<<30), min(p.Fall, 1<<30)
	return p
}

// init, start and observe are the machine of a normal p on state s.
func (p *HAProxy) init() machState {
	if p.StartDown {
		return machState{}
	}
	return machState{n: int32(p.Rise), up: true}
}

func (p *HAProxy) start(j float64) time.Duration { return time.Duration(j * float64(p.Inter)) }

func (p *HAProxy) observe(s *machState, r Result) (time.Duration, bool) {
	top := int32(p.Rise + p.Fall - 1)
	rise := int32(p.Rise)
	was := s.up
	if r.Up {
		if s.n < top {
			s.n++
			if s.n >= rise {
				s.n = top
				s.up = true
			}
		}
	} else {
		if s.n > rise {
			s.n--
		} else {
			s.n = 0
			s.up = false
		}
	}
	return p.interval(s.n), s.up != was
}

// interval is HAProxy's srv_getinter at health h.
func (p *HAProxy) interval(h int32) time.Duration {
	switch {
	case int(h) == p.Rise+p.Fall-1:
		return p.Inter
	case h == 0:
		return p.DownInter
	}
	return p.FastInter
}

// health returns the HAProxy health counter of m; ok is false for other
// machines.
func health(m Machine) (h int, ok bool) {
	if h, isH := m.(*machine[HAProxy, *HAProxy]); isH {
		return int(h.s.n), true
	}
	return 0, false
}
