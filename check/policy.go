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
	if p.DelayLoop <= 0 {
		p.DelayLoop = 60 * time.Second
	}
	if p.DelayBeforeRetry <= 0 {
		p.DelayBeforeRetry = time.Second
	}
	return &keepalivedMachine{p: p, up: !p.Alpha}
}

type keepalivedMachine struct {
	p      Keepalived
	up     bool
	hasRun bool
	retry  int
}

func (m *keepalivedMachine) Up() bool { return m.up }

func (m *keepalivedMachine) Start(j float64) time.Duration {
	if m.p.Warmup > 0 {
		return time.Duration(j * float64(m.p.Warmup))
	}
	return time.Duration(j * float64(m.p.DelayLoop))
}

func (m *keepalivedMachine) Observe(r Result) (time.Duration, bool) {
	first := !m.hasRun
	m.hasRun = true
	if r.Up {
		m.retry = 0
		changed := !m.up
		m.up = true
		return m.p.DelayLoop, changed
	}
	if (m.up || first) && m.retry < m.p.Retry {
		m.retry++
		return m.p.DelayBeforeRetry, false
	}
	m.retry = 0
	changed := m.up
	m.up = false
	return m.p.DelayLoop, changed
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
	m := &haproxyMachine{p: p, health: p.Rise, up: true}
	if p.StartDown {
		m.health, m.up = 0, false
	}
	return m
}

type haproxyMachine struct {
	p      HAProxy
	health int
	up     bool
}

func (m *haproxyMachine) Up() bool { return m.up }

func (m *haproxyMachine) Start(j float64) time.Duration {
	return time.Duration(j * float64(m.p.Inter))
}

func (m *haproxyMachine) Observe(r Result) (time.Duration, bool) {
	top := m.p.Rise + m.p.Fall - 1
	was := m.up
	if r.Up {
		if m.health < top {
			m.health++
			if m.health >= m.p.Rise {
				m.health = top
				m.up = true
			}
		}
	} else {
		if m.health > m.p.Rise {
			m.health--
		} else {
			m.health = 0
			m.up = false
		}
	}
	return m.interval(), m.up != was
}

// interval is HAProxy's srv_getinter.
func (m *haproxyMachine) interval() time.Duration {
	switch {
	case m.health == m.p.Rise+m.p.Fall-1:
		return m.p.Inter
	case m.health == 0:
		return m.p.DownInter
	}
	return m.p.FastInter
}

// health returns the HAProxy health counter of m; ok is false for other
// machines.
func health(m Machine) (h int, ok bool) {
	if h, isH := m.(*haproxyMachine); isH {
		return h.health, true
	}
	return 0, false
}
