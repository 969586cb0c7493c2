package vrrp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Instance is one running virtual router.
type Instance struct {
	cfg   Config
	r     *Router
	group *syncGroup
	slot  slot // in the Router's schedule

	ifi    *net.Interface
	vmac   *net.Interface // VMAC: the macvlan holding the VIPs
	conn   *rawConn
	src    netip.Addr
	dst    netip.Addr
	expect Expect
	m      *Machine
	pkt    Packet
	// adv holds the advert for each of snd's destinations, built for
	// priority advPrio (-1: not built): a master re-sends it unchanged.
	adv     [][]byte
	advPrio int

	stats instanceStats

	snd *sender
	ann *announcer
	// otherAnn announces the excluded VIPs of the other family, by Dev
	// ("" for Interface).
	otherAnn map[string]*announcer
	// devAnn announces the VIPs whose Dev is another interface.
	devAnn map[string]*announcer
	garp   garpState // owned by the action goroutine
	acts   actionQueue
	// filter enforces non-accept mode (Config.FilterNonAccept).
	filter *acceptFilter

	heldUntil  atomic.Int64 // sync groups: Master_Down_Timer while hearing a master
	track      map[string]trackStatus
	groupFault bool
	notifyQ    chan notifyJob
	nwg        sync.WaitGroup // the notify worker
	creds      scriptCreds

	// want is the Config last given to Add or Update (guarded by the
	// Router's upd mutex): what the next Update is compared with.
	want Config
	// acfg is the Config the action goroutine applies: VIPs, Routes,
	// Rules, GARP, Notify and OnTransition come from it; only that
	// goroutine reads or replaces it after Run started.
	acfg *Config
	// holding tells the action goroutine that the last transition it
	// applied made the instance master (its addresses are up).
	holding bool
	// trackGen counts tracker restarts (engine lock); trackStop stops the
	// current trackers (upd mutex).
	trackGen  uint64
	trackStop context.CancelFunc
}

// Name returns the instance's name.
func (in *Instance) Name() string { return in.cfg.Name }

// State returns the current state; safe from any goroutine.
func (in *Instance) State() State { return State(in.stats.state.Load()) }

// Stats returns a snapshot of the instance's metrics.
func (in *Instance) Stats() Stats {
	s := Stats{
		State: in.State(), Priority: uint8(in.stats.prio.Load()),
		Transitions: in.stats.transitions.Load(), AdvertsSent: in.stats.sent.Load(), AdvertsReceived: in.stats.received.Load(),
		SendErrors: in.stats.sendErrors.Load(), ChecksumPseudoHeader: in.stats.checksumPseudo.Load(),
		ChecksumMessageOnly: in.stats.checksumMessageOnly.Load(), Announcements: in.stats.garps.Load(),
		Drops: map[DropReason]uint64{},
	}
	for _, r := range DropReasons() {
		if n := in.stats.drops.Get(r); n > 0 {
			s.Drops[r] = n
		}
	}
	return s
}

// post hands an event from outside the engine (a tracker) to the instance.
func (in *Instance) post(ev event) {
	in.r.lock()
	in.handle(ev)
	in.r.unlock()
}

// setup builds the instance's Machine and advert template; Run calls it
// before any goroutine starts.
func (in *Instance) setup() error {
	m, err := NewMachine(Election{Version: in.cfg.Version, Priority: in.cfg.Priority, Interval: in.cfg.Interval,
		NoPreempt: in.cfg.NoPreempt, PreemptDelay: in.cfg.PreemptDelay, Primary: in.src, Gate: in.gate(),
		LowerPrioNoAdvert: in.cfg.LowerPrioNoAdvert, HigherPrioSendAdvert: in.cfg.HigherPrioSendAdvert,
		LowerPriority: in.lowerPriority, DownTimerAdverts: in.cfg.DownTimerAdverts}, instanceEnv{in})
	if err != nil {
		return fmt.Errorf("vrrp: instance %s: %w", in.cfg.Name, err)
	}
	in.m = m
	in.stats.prio.Store(uint32(in.cfg.Priority))
	in.pkt = Packet{Version: in.cfg.Version, VRID: in.cfg.VRID, Interval: in.cfg.Interval, AuthType: in.cfg.AuthType, AuthData: in.cfg.authPass()}
	for _, v := range in.cfg.VIPs {
		in.pkt.Addrs = append(in.pkt.Addrs, v.Prefix.Addr())
	}
	in.adv, in.advPrio = make([][]byte, len(in.snd.dst)), -1
	in.track = map[string]trackStatus{}
	acfg := in.cfg
	in.acfg = &acfg
	if in.hasNotify() {
		in.notifyQ = make(chan notifyJob, 64)
	}
	return nil
}

// resched puts the instance's timer where its Machine wants it. Every
// engine step that touches the Machine ends with it.
func (in *Instance) resched() {
	at, precise := fireAt(in.m.State(), in.m.Deadline(), in.cfg.Interval)
	in.r.sched.set(&in.slot, at, precise)
	in.publishHeld()
}

// gate keeps a sync group member from taking over while another member
// still hears a master it must not preempt (keepalived does the same).
func (in *Instance) gate() func(time.Time) bool {
	if in.group == nil {
		return nil
	}
	return func(now time.Time) bool {
		for _, o := range in.group.members {
			if o != in && o.State() == StateBackup && o.heldUntil.Load() > now.UnixNano() {
				return false
			}
		}
		return true
	}
}

func (in *Instance) publishHeld() {
	var until int64
	if in.m.State() == StateBackup && in.m.Master().IsValid() {
		until = in.m.Deadline().UnixNano()
	}
	in.heldUntil.Store(until)
}

// handle runs one event on the engine (the Router's lock held).
func (in *Instance) handle(ev event) {
	now := time.Now()
	defer in.resched()
	switch ev.kind {
	case evAdvert:
		in.m.Advert(ev.at, ev.src, ev.prio, ev.ivl)
	case evTrack:
		if ev.gen != in.trackGen {
			return // from a tracker an Update replaced
		}
		in.track[ev.key] = ev.st
		in.applyTracking(now)
	case evGroupFault:
		in.groupFault = ev.fault
		in.applyTracking(now)
	case evForceMaster:
		in.m.ForceMaster(now)
	case evForceBackup:
		in.m.ForceBackup(now)
	case evDeleted:
		if ev.key == "" {
			in.m.LeaveMaster(now, ReasonSync)
			return
		}
		if in.m.State() == StateMaster {
			in.r.log.Info("vrrp: tracked entry deleted, leaving MASTER", "instance", in.cfg.Name, "deleted", ev.key)
		}
		in.m.LeaveMaster(now, ReasonDeleted)
	}
}

// tracked returns the priority tracking gives and whether tracking faults
// the instance.
func (in *Instance) tracked() (uint8, bool) {
	fault := false
	p := int(in.cfg.Priority)
	for _, s := range in.track {
		fault = fault || s.fault
		p += s.delta
	}
	if in.cfg.Priority == 255 {
		return 255, fault
	}
	return uint8(min(max(p, 1), 254)), fault
}

func (in *Instance) applyTracking(now time.Time) {
	p, fault := in.tracked()
	if in.group != nil {
		in.group.setFault(in, fault)
	}
	if in.cfg.Priority != 255 {
		in.m.SetPriority(now, p)
		if old := in.stats.prio.Swap(uint32(p)); old != uint32(p) && in.cfg.OnPriority != nil {
			in.acts.push(action{prioChange: true, prio: p, t: Transition{From: in.m.State(), To: in.m.State(), At: now}})
		}
	}
	in.m.SetFault(now, fault || in.groupFault)
}

// instanceEnv is the Instance's side of the Machine (kept unexported so
// that callers cannot drive an instance's sockets behind its back).
type instanceEnv struct{ in *Instance }

func (e instanceEnv) Send(p uint8)            { e.in.send(p) }
func (e instanceEnv) Transition(t Transition) { e.in.transition(t) }

// send queues an advertisement with priority p to every destination; the
// engine flushes the batch when its step ends. A master's periodic advert
// is the same bytes every time, so it is built only when the priority
// changes.
func (in *Instance) send(p uint8) {
	if int(p) != in.advPrio {
		in.pkt.Priority = p
		in.advPrio = -1
		for i, d := range in.snd.dst {
			b, err := in.pkt.AppendTo(in.adv[i][:0], in.src, d.addr, in.cfg.Checksum)
			if err != nil {
				in.stats.sendErrors.Add(1)
				in.r.log.Debug("vrrp: send", "instance", in.cfg.Name, "dst", d.addr, "err", err)
				return
			}
			in.adv[i] = b
		}
		in.advPrio = int(p)
	}
	for i := range in.snd.dst {
		in.snd.queue(in.adv[i], i, &in.stats)
	}
	in.r.markDirty(in.snd.ss)
}

// transition records a state change on the engine and hands its side
// effects (addresses, routes, announcements, notify, callbacks) to the
// instance's action goroutine, so that netlink or a slow callback never
// holds up the other instances' timers.
func (in *Instance) transition(t Transition) {
	in.stats.state.Store(uint32(t.To))
	in.stats.transitions.Add(1)
	in.r.log.Info("vrrp: transition", "instance", in.cfg.Name, "from", t.From, "to", t.To, "reason", t.Reason, "priority", in.m.Priority())
	in.acts.push(action{t: t, prio: in.m.Priority()})
	if in.group != nil && t.Reason != ReasonSync {
		switch {
		case t.To == StateMaster:
			in.group.broadcast(in, evForceMaster)
		case t.From == StateMaster && t.To == StateBackup && t.Reason == ReasonDeleted:
			// keepalived's set_vrrp_backup: every master of the group
			// leaves with the short timer too.
			in.group.broadcast(in, evDeleted)
		case t.From == StateMaster && t.To == StateBackup:
			in.group.broadcast(in, evForceBackup)
		}
	}
}
