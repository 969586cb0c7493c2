package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// State is a VRRP router state (RFC 9568 6.4 plus keepalived's FAULT).
type State uint8

// Router states.
const (
	StateInit State = iota
	StateBackup
	StateMaster
	StateFault
)

// String returns keepalived's spelling, as used in notify scripts.
func (s State) String() string {
	switch s {
	case StateInit:
		return "INIT"
	case StateBackup:
		return "BACKUP"
	case StateMaster:
		return "MASTER"
	case StateFault:
		return "FAULT"
	}
	return fmt.Sprintf("STATE(%d)", uint8(s))
}

// Reason says why a transition happened.
type Reason uint8

// Transition reasons.
const (
	ReasonStartup    Reason = iota // Startup event (owner goes straight to master)
	ReasonMasterDown               // Master_Down_Timer fired
	ReasonPreempted                // higher priority (or tie-break) advert
	ReasonShutdown                 // Shutdown event
	ReasonFault                    // tracking reported a fault
	ReasonRecovered                // fault cleared
	ReasonSync                     // a sync group member moved
	ReasonDeleted                  // someone deleted a tracked VIP, route or rule
)

var reasonNames = [...]string{"startup", "master-down", "preempted", "shutdown", "fault", "recovered", "sync", "deleted"}

// String names the reason.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Transition is reported on every state change.
type Transition struct {
	From, To State
	Reason   Reason
	At       time.Time
}

// Election configures a Machine.
type Election struct {
	// Version is 2 or 3 (default 3). It decides the skew time formula's
	// units and whether the master's interval is learned.
	Version uint8
	// Priority is the configured priority, 1..255; 255 owns the addresses.
	Priority uint8
	// Interval is the advertisement interval (v2: whole seconds; v3:
	// centiseconds).
	Interval time.Duration
	// NoPreempt keeps a higher-priority backup from taking over from a
	// lower-priority master (keepalived nopreempt). The owner always
	// preempts.
	NoPreempt bool
	// PreemptDelay postpones preemption until this long after startup.
	PreemptDelay time.Duration
	// Primary is our primary address, the tie-breaker between masters of
	// equal priority (the higher address wins).
	Primary netip.Addr
	// Gate, when set, is asked before a backup becomes master because its
	// Master_Down_Timer fired; false keeps it backup and asks again one
	// interval later. Sync groups use it so that no member takes over
	// while another still hears a master it must not preempt.
	Gate func(now time.Time) bool `json:"-"`
	// LowerPrioNoAdvert keeps a master from answering a lower-priority
	// advert with an advert of its own at once (keepalived's
	// vrrp_lower_prio_no_advert, implied by vrrp_strict): it waits for
	// its next scheduled advert.
	LowerPrioNoAdvert bool
	// HigherPrioSendAdvert makes a master that hears a higher-priority
	// advert (or an equal one from a higher address) send one more
	// advert before it becomes backup (keepalived's
	// vrrp_higher_prio_send_advert), so that a peer which cannot hear
	// it learns there was a master.
	HigherPrioSendAdvert bool
	// LowerPriority, when set, is called when a master hears a
	// lower-priority advert (an equal one from a lower address too):
	// Instance sends its garp_lower_prio gratuitous ARPs from it.
	LowerPriority func(now time.Time) `json:"-"`
	// DownTimerAdverts is how many advertisement intervals a backup
	// waits for the master before taking over: Master_Down_Interval is
	// DownTimerAdverts * Master_Adver_Interval + Skew_Time. Zero is the
	// RFC's 3 (keepalived down_timer_adverts, 1..100).
	DownTimerAdverts int `json:",omitempty"`
}

// Env is what a Machine drives: sending advertisements and reporting
// transitions. Tests inject a recorder; Instance injects sockets.
type Env interface {
	// Send sends an advertisement with the given priority.
	Send(priority uint8)
	// Transition reports a state change after it happened.
	Transition(t Transition)
}

// Machine is the pure VRRP election state machine. It never reads a clock
// or touches the network: callers pass the time into every method, call
// Tick at Deadline, and get outputs through Env. It is not safe for
// concurrent use.
type Machine struct {
	cfg   Election
	env   Env
	state State
	prio  uint8 // effective priority

	started        time.Time
	masterAdverInt time.Duration
	timer          time.Time // Adver_Timer (master) or Master_Down_Timer (backup)
	fault          bool
	master         netip.Addr // last master heard (backup)
}

// NewMachine returns a machine in StateInit.
func NewMachine(cfg Election, env Env) (*Machine, error) {
	if cfg.Version == 0 {
		cfg.Version = 3
	}
	if cfg.Version != 2 && cfg.Version != 3 {
		return nil, fmt.Errorf("vrrp: election: version %d: %w", cfg.Version, ErrInvalid)
	}
	if cfg.Priority == 0 {
		return nil, fmt.Errorf("vrrp: election: priority 0 is reserved for resignation: %w", ErrInvalid)
	}
	if cfg.Interval <= 0 {
		return nil, fmt.Errorf("vrrp: election: interval %v: %w", cfg.Interval, ErrInvalid)
	}
	if cfg.DownTimerAdverts < 0 || cfg.DownTimerAdverts > maxDownTimerAdverts {
		return nil, fmt.Errorf("vrrp: election: down timer adverts %d (0..%d): %w", cfg.DownTimerAdverts, maxDownTimerAdverts, ErrInvalid)
	}
	return &Machine{cfg: cfg, env: env, prio: cfg.Priority, masterAdverInt: cfg.Interval}, nil
}

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Priority returns the effective priority advertised.
func (m *Machine) Priority() uint8 { return m.prio }

// MasterAdverInterval returns the interval the backup times the master by
// (learned from the master's adverts in VRRPv3).
func (m *Machine) MasterAdverInterval() time.Duration { return m.masterAdverInt }

// Master returns the address of the master last heard (zero when we are
// master or have heard none).
func (m *Machine) Master() netip.Addr { return m.master }

// Deadline returns when Tick must next be called; zero when no timer runs.
func (m *Machine) Deadline() time.Time { return m.timer }

// SkewTime is ((256 - Priority) * Master_Adver_Interval) / 256.
func (m *Machine) SkewTime() time.Duration {
	return time.Duration(256-int64(m.prio)) * m.masterAdverInt / 256
}

// maxDownTimerAdverts is keepalived's bound on down_timer_adverts.
const maxDownTimerAdverts = 100

// MasterDownInterval is 3 (or Election.DownTimerAdverts) *
// Master_Adver_Interval + Skew_Time.
func (m *Machine) MasterDownInterval() time.Duration {
	n := m.cfg.DownTimerAdverts
	if n == 0 {
		n = 3
	}
	return time.Duration(n)*m.masterAdverInt + m.SkewTime()
}

func (m *Machine) to(now time.Time, s State, r Reason) {
	from := m.state
	m.state = s
	if s == StateMaster {
		m.master = netip.Addr{}
	}
	if from != s && m.env != nil {
		m.env.Transition(Transition{From: from, To: s, Reason: r, At: now})
	}
}

func (m *Machine) send(p uint8) {
	if m.env != nil {
		m.env.Send(p)
	}
}

// Start is the Startup event.
func (m *Machine) Start(now time.Time) {
	if m.state != StateInit {
		return
	}
	m.started = now
	if m.fault {
		m.timer = time.Time{}
		m.to(now, StateFault, ReasonFault)
		return
	}
	m.startup(now, ReasonStartup)
}

func (m *Machine) startup(now time.Time, r Reason) {
	m.masterAdverInt = m.cfg.Interval
	if m.prio == 255 {
		m.becomeMaster(now, r)
		return
	}
	m.timer = now.Add(m.MasterDownInterval())
	m.to(now, StateBackup, r)
}

func (m *Machine) becomeMaster(now time.Time, r Reason) {
	m.send(m.prio)
	m.timer = now.Add(m.cfg.Interval)
	m.to(now, StateMaster, r)
}

// Stop is the Shutdown event: a master resigns with a priority 0 advert.
func (m *Machine) Stop(now time.Time) {
	if m.state == StateMaster {
		m.send(0)
	}
	m.timer = time.Time{}
	m.to(now, StateInit, ReasonShutdown)
}

// Tick fires the timer if it is due.
func (m *Machine) Tick(now time.Time) {
	if m.timer.IsZero() || now.Before(m.timer) {
		return
	}
	switch m.state {
	case StateMaster:
		m.send(m.prio)
		m.timer = m.timer.Add(m.cfg.Interval)
		if !m.timer.After(now) { // we were late by more than an interval
			m.timer = now.Add(m.cfg.Interval)
		}
	case StateBackup:
		if m.cfg.Gate != nil && !m.cfg.Gate(now) {
			m.timer = now.Add(m.masterAdverInt)
			return
		}
		m.becomeMaster(now, ReasonMasterDown)
	}
}

// Advert is the receipt of a valid advertisement from src with the given
// priority and (v3) maximum advertisement interval.
func (m *Machine) Advert(now time.Time, src netip.Addr, priority uint8, interval time.Duration) {
	switch m.state {
	case StateBackup:
		if priority == 0 {
			m.timer = now.Add(m.SkewTime())
			return
		}
		if !m.preempts(now) || priority >= m.prio {
			if m.cfg.Version == 3 && interval > 0 {
				m.masterAdverInt = interval
			}
			m.master = src
			m.timer = now.Add(m.MasterDownInterval())
		}
		// else: preempting a lower-priority master; let the timer run out.
	case StateMaster:
		if priority == 0 {
			m.send(m.prio)
			m.timer = now.Add(m.cfg.Interval)
			return
		}
		if priority > m.prio || (priority == m.prio && src.Compare(m.cfg.Primary) > 0) {
			if m.cfg.HigherPrioSendAdvert {
				m.send(m.prio)
			}
			if m.cfg.Version == 3 && interval > 0 {
				m.masterAdverInt = interval
			}
			m.timer = now.Add(m.MasterDownInterval())
			m.to(now, StateBackup, ReasonPreempted)
			m.master = src
			return
		}
		// A lower-priority master: answer at once so it steps down now
		// rather than at our next scheduled advert (keepalived does too,
		// unless told not to).
		if !m.cfg.LowerPrioNoAdvert {
			m.send(m.prio)
			m.timer = now.Add(m.cfg.Interval)
		}
		if m.cfg.LowerPriority != nil {
			m.cfg.LowerPriority(now)
		}
	}
}

func (m *Machine) preempts(now time.Time) bool {
	if m.prio == 255 {
		return true
	}
	if m.cfg.NoPreempt {
		return false
	}
	return m.cfg.PreemptDelay <= 0 || !now.Before(m.started.Add(m.cfg.PreemptDelay))
}

// SetFault enters (true) or leaves (false) the FAULT state. A master
// resigns with a priority 0 advert first; leaving FAULT runs the Startup
// logic again.
func (m *Machine) SetFault(now time.Time, fault bool) {
	if m.fault == fault {
		return
	}
	m.fault = fault
	switch {
	case fault && (m.state == StateMaster || m.state == StateBackup):
		if m.state == StateMaster {
			m.send(0)
		}
		m.timer = time.Time{}
		m.master = netip.Addr{}
		m.to(now, StateFault, ReasonFault)
	case !fault && m.state == StateFault:
		m.startup(now, ReasonRecovered)
	}
}

// SetPriority changes the effective priority (tracking weights). The owner
// priority 255 is fixed. A backup keeps its running timer; the new
// priority counts from the next advert.
func (m *Machine) SetPriority(now time.Time, p uint8) {
	if m.cfg.Priority == 255 || p == 0 {
		return
	}
	m.prio = p
}

// ForceMaster makes a backup master now, as a sync group does when another
// member becomes master.
func (m *Machine) ForceMaster(now time.Time) {
	if m.state == StateBackup {
		m.becomeMaster(now, ReasonSync)
	}
}

// ForceBackup makes a master backup now, as a sync group does when another
// member steps down. It resigns with a priority 0 advert so that a peer
// takes over within its skew time.
func (m *Machine) ForceBackup(now time.Time) {
	if m.state == StateMaster {
		m.send(0)
		m.timer = now.Add(m.MasterDownInterval())
		m.to(now, StateBackup, ReasonSync)
	}
}

// LeaveMaster makes a master backup now because something it holds (a
// VIP, a virtual route or rule) was deleted behind its back, as
// keepalived's set_vrrp_backup does: it resigns with a priority 0 advert
// and sets its Master_Down_Timer to the skew time only, so that it takes
// MASTER back (adding its addresses again) as soon as a router of any
// priority would, unless another router advertises first.
func (m *Machine) LeaveMaster(now time.Time, r Reason) {
	if m.state != StateMaster {
		return
	}
	m.send(0)
	m.timer = now.Add(m.SkewTime())
	m.to(now, StateBackup, r)
}

// Reconfigure applies a new election configuration to a running machine
// (Instance.Update): priority, interval and preemption; prio is the new
// effective priority (cfg.Priority with tracking applied). Version,
// Primary and Gate stay. A master keeps its state and advertises the new
// priority and interval at once, so that a peer that now wins the
// election takes over through the normal protocol; a backup keeps its
// Master_Down_Timer, and the new priority counts from the next advert.
func (m *Machine) Reconfigure(now time.Time, cfg Election, prio uint8) error {
	if cfg.Version == 0 {
		cfg.Version = 3
	}
	switch {
	case cfg.Version != m.cfg.Version:
		return fmt.Errorf("vrrp: election: version %d -> %d: %w", m.cfg.Version, cfg.Version, ErrNotUpdatable)
	case cfg.Priority == 0 || prio == 0:
		return fmt.Errorf("vrrp: election: priority 0 is reserved for resignation: %w", ErrInvalid)
	case cfg.Interval <= 0:
		return fmt.Errorf("vrrp: election: interval %v: %w", cfg.Interval, ErrInvalid)
	case cfg.DownTimerAdverts < 0 || cfg.DownTimerAdverts > maxDownTimerAdverts:
		return fmt.Errorf("vrrp: election: down timer adverts %d (0..%d): %w", cfg.DownTimerAdverts, maxDownTimerAdverts, ErrInvalid)
	case (cfg.Priority == 255) != (m.cfg.Priority == 255):
		return fmt.Errorf("vrrp: election: priority %d -> %d changes address ownership: %w", m.cfg.Priority, cfg.Priority, ErrNotUpdatable)
	}
	m.cfg.Priority, m.cfg.Interval = cfg.Priority, cfg.Interval
	m.cfg.NoPreempt, m.cfg.PreemptDelay = cfg.NoPreempt, cfg.PreemptDelay
	m.cfg.LowerPrioNoAdvert, m.cfg.HigherPrioSendAdvert = cfg.LowerPrioNoAdvert, cfg.HigherPrioSendAdvert
	m.cfg.DownTimerAdverts = cfg.DownTimerAdverts
	if cfg.Priority == 255 {
		prio = 255
	}
	m.prio = prio
	switch m.state {
	case StateMaster:
		m.masterAdverInt = cfg.Interval
		m.send(m.prio)
		m.timer = now.Add(cfg.Interval)
	case StateBackup:
		if !m.master.IsValid() {
			m.masterAdverInt = cfg.Interval
		}
	default:
		m.masterAdverInt = cfg.Interval
	}
	return nil
}
