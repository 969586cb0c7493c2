package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/net/ipv6"
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
	// devAnn announces the VIPs whose Dev is another interface.
	devAnn map[string]*announcer
	garp   garpState // owned by the action goroutine
	acts   actionQueue
	// filter enforces non-accept mode (Config.FilterNonAccept).
	filter *acceptFilter

	heldUntil  atomic.Int64 // sync groups: Master_Down_Timer while hearing a master
	track      map[string]trackStatus
	groupFault bool
	notifyQ    chan []string
	creds      scriptCreds
}

type instanceStats struct {
	state               atomic.Uint32
	prio                atomic.Uint32
	transitions         atomic.Uint64
	sent                atomic.Uint64
	sendErrors          atomic.Uint64
	received            atomic.Uint64
	checksumPseudo      atomic.Uint64
	checksumMessageOnly atomic.Uint64
	garps               atomic.Uint64
	drops               DropCounters
}

// Stats is a snapshot of an instance's metrics.
type Stats struct {
	State    State
	Priority uint8
	// Transitions counts state changes.
	Transitions uint64
	// AdvertsSent and AdvertsReceived count advertisements (received:
	// valid ones handed to the state machine).
	AdvertsSent, AdvertsReceived uint64
	// SendErrors counts adverts the kernel refused.
	SendErrors uint64
	// ChecksumPseudoHeader and ChecksumMessageOnly count VRRPv3 adverts by
	// the checksum dialect they arrived in.
	ChecksumPseudoHeader, ChecksumMessageOnly uint64
	// Announcements counts gratuitous ARPs / unsolicited NAs sent.
	Announcements uint64
	// Drops counts adverts for this instance dropped, per reason.
	Drops map[DropReason]uint64
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

type eventKind uint8

const (
	evAdvert eventKind = iota
	evTrack
	evGroupFault
	evForceMaster
	evForceBackup
)

type event struct {
	kind  eventKind
	at    time.Time
	src   netip.Addr
	prio  uint8
	ivl   time.Duration
	key   string
	st    trackStatus
	fault bool
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
		NoPreempt: in.cfg.NoPreempt, PreemptDelay: in.cfg.PreemptDelay, Primary: in.src, Gate: in.gate()}, instanceEnv{in})
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
	if in.hasNotify() {
		in.notifyQ = make(chan []string, 64)
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
		in.track[ev.key] = ev.st
		in.applyTracking(now)
	case evGroupFault:
		in.groupFault = ev.fault
		in.applyTracking(now)
	case evForceMaster:
		in.m.ForceMaster(now)
	case evForceBackup:
		in.m.ForceBackup(now)
	}
}

func (in *Instance) applyTracking(now time.Time) {
	fault := false
	p := int(in.cfg.Priority)
	for _, s := range in.track {
		fault = fault || s.fault
		p += s.delta
	}
	if in.group != nil {
		in.group.setFault(in, fault)
	}
	p = min(max(p, 1), 254)
	if in.cfg.Priority != 255 {
		in.m.SetPriority(now, uint8(p))
		in.stats.prio.Store(uint32(p))
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
		case t.From == StateMaster && t.To == StateBackup:
			in.group.broadcast(in, evForceBackup)
		}
	}
}

// action is a transition whose side effects are still to run.
type action struct {
	t    Transition
	prio uint8
}

// actionQueue passes actions from the engine to the instance's action
// goroutine in order, without ever blocking the engine.
type actionQueue struct {
	mu     sync.Mutex
	q      []action
	closed bool
	sig    chan struct{} // capacity 1
}

func (a *actionQueue) init() { a.sig = make(chan struct{}, 1) }

func (a *actionQueue) push(x action) {
	a.mu.Lock()
	a.q = append(a.q, x)
	a.mu.Unlock()
	a.signal()
}

// close makes the goroutine return once it has run what is queued.
func (a *actionQueue) close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.signal()
}

// signal wakes the goroutine unless a wake-up is already pending.
func (a *actionQueue) signal() {
	select {
	case a.sig <- struct{}{}:
	default:
	}
}

func (a *actionQueue) take(into []action) ([]action, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	into = append(into[:0], a.q...)
	clear(a.q)
	a.q = a.q[:0]
	return into, a.closed
}

// runActions is the instance's action goroutine: it applies transitions
// in order and paces gratuitous ARPs / NAs. It returns after the queue is
// closed and drained.
func (in *Instance) runActions() {
	var nwg sync.WaitGroup
	if in.notifyQ != nil {
		nwg.Go(in.notifyWorker)
	}
	defer func() {
		if in.notifyQ != nil {
			close(in.notifyQ)
			nwg.Wait()
		}
	}()
	var t *time.Timer
	var tc <-chan time.Time
	var batch []action
	for {
		var closed bool
		batch, closed = in.acts.take(batch)
		for _, a := range batch {
			in.apply(a)
		}
		if closed {
			return
		}
		if d := in.garp.deadline(); !d.IsZero() {
			if t == nil {
				t = time.NewTimer(time.Until(d))
				defer t.Stop()
			} else {
				t.Reset(time.Until(d))
			}
			tc = t.C
		} else if t != nil {
			t.Stop()
			tc = nil
		}
		select {
		case <-in.acts.sig:
		case <-tc:
			in.garpTick(time.Now())
		}
	}
}

// apply moves addresses, announces them, runs notify scripts and
// callbacks for one transition.
func (in *Instance) apply(a action) {
	t := a.t
	if t.To == StateMaster {
		in.addVIPs()
		in.setRoutes(true)
		in.setFilter(true)
		in.garp.start(t.At, &in.cfg.GARP)
		in.garpTick(t.At)
	} else {
		in.garp = garpState{}
		if t.From == StateMaster || t.From == StateInit {
			in.delVIPs()
			in.setRoutes(false)
			in.setFilter(false)
		}
	}
	in.notify(t, a.prio)
	if in.cfg.OnTransition != nil {
		in.cfg.OnTransition(in.cfg.Name, t)
	}
}

// setFilter installs or removes the non-accept filter, if any.
func (in *Instance) setFilter(on bool) {
	if in.filter == nil {
		return
	}
	if err := in.filter.set(on); err != nil {
		in.r.log.Error("vrrp: non-accept filter", "instance", in.cfg.Name, "on", on, "err", err)
	}
}

func (in *Instance) vipLink(v VIP) (netlink.Link, error) {
	name := v.Dev
	switch {
	case name != "":
	case in.vmac != nil:
		name = in.vmac.Name
	default:
		name = in.cfg.Interface
	}
	ifi, err := in.r.link(name)
	if err != nil {
		return nil, err
	}
	// AddrAdd and AddrDel need only the index.
	return &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: ifi.Index, Name: ifi.Name}}, nil
}

func (in *Instance) nlAddr(v VIP) *netlink.Addr {
	a := &netlink.Addr{IPNet: &net.IPNet{IP: v.Prefix.Addr().AsSlice(), Mask: net.CIDRMask(v.Prefix.Bits(), v.Prefix.Addr().BitLen())},
		Label: v.Label, Scope: v.Scope}
	if v.Broadcast.IsValid() {
		a.Broadcast = v.Broadcast.AsSlice()
	}
	if v.Prefix.Addr().Is6() {
		a.Flags = syscall.IFA_F_NODAD // usable at once, as keepalived adds them
	}
	return a
}

func (in *Instance) addVIPs() {
	for _, v := range in.cfg.VIPs {
		l, err := in.vipLink(v)
		if err == nil {
			err = in.r.netlink(func(h *netlink.Handle) error { return h.AddrAdd(l, in.nlAddr(v)) })
		}
		if err != nil && !errors.Is(err, syscall.EEXIST) {
			in.r.log.Error("vrrp: add VIP", "instance", in.cfg.Name, "vip", v.Prefix, "err", err)
		}
	}
}

func (in *Instance) delVIPs() {
	for _, v := range in.cfg.VIPs {
		l, err := in.vipLink(v)
		if err == nil {
			err = in.r.netlink(func(h *netlink.Handle) error { return h.AddrDel(l, in.nlAddr(v)) })
		}
		if err != nil && !errors.Is(err, syscall.EADDRNOTAVAIL) && !errors.Is(err, syscall.ENOENT) {
			in.r.log.Error("vrrp: delete VIP", "instance", in.cfg.Name, "vip", v.Prefix, "err", err)
		}
	}
}

func (in *Instance) garpTick(now time.Time) {
	for range in.garp.due(now) {
		in.announce()
	}
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// setRoutes adds (on) or removes the virtual routes and rules.
func (in *Instance) setRoutes(on bool) {
	for _, r := range in.cfg.Routes {
		dev := r.Dev
		if dev == "" {
			dev = in.cfg.Interface
		}
		ifi, err := in.r.link(dev)
		if err != nil {
			in.r.log.Error("vrrp: virtual route", "instance", in.cfg.Name, "dst", r.Dst, "err", err)
			continue
		}
		nr := &netlink.Route{Dst: ipNet(r.Dst), LinkIndex: ifi.Index, Table: r.Table, Priority: r.Metric}
		if r.Gw.IsValid() {
			nr.Gw = r.Gw.AsSlice()
		}
		err = in.r.netlink(func(h *netlink.Handle) error {
			if on {
				return h.RouteReplace(nr)
			}
			return h.RouteDel(nr)
		})
		if err != nil && (on || !errors.Is(err, syscall.ESRCH)) {
			in.r.log.Error("vrrp: virtual route", "instance", in.cfg.Name, "dst", r.Dst, "add", on, "err", err)
		}
	}
	for _, r := range in.cfg.Rules {
		nr := netlink.NewRule()
		nr.Table, nr.Priority = r.Table, r.Priority
		if r.From.IsValid() {
			nr.Src = ipNet(r.From)
		}
		if r.To.IsValid() {
			nr.Dst = ipNet(r.To)
		}
		if (r.From.IsValid() && r.From.Addr().Is6()) || (r.To.IsValid() && r.To.Addr().Is6()) {
			nr.Family = netlink.FAMILY_V6
		} else {
			nr.Family = netlink.FAMILY_V4
		}
		err := in.r.netlink(func(h *netlink.Handle) error {
			if on {
				return h.RuleAdd(nr)
			}
			return h.RuleDel(nr)
		})
		if err != nil && !(on && errors.Is(err, syscall.EEXIST)) && !(!on && errors.Is(err, syscall.ENOENT)) {
			in.r.log.Error("vrrp: virtual rule", "instance", in.cfg.Name, "rule", r, "add", on, "err", err)
		}
	}
}

// announcer sends gratuitous ARPs or neighbour advertisements on one
// interface for every instance there. Its sockets only send: the packet
// socket is bound to protocol 0 and the ICMPv6 one filters everything.
type announcer struct {
	mu  sync.Mutex
	ifi *net.Interface
	arp *packet.Conn
	ndp *ndp.Conn
}

func openAnnouncer(ns string, ifi *net.Interface, ipv6only bool) (*announcer, error) {
	a := &announcer{ifi: ifi}
	err := inNS(ns, func() error {
		var err error
		if ipv6only {
			a.ndp, _, err = ndp.Listen(ifi, ndp.LinkLocal)
			if err == nil {
				var f ipv6.ICMPFilter
				f.SetAll(true)
				err = a.ndp.SetICMPFilter(&f)
			}
			return err
		}
		a.arp, err = packet.Listen(ifi, packet.Raw, 0, nil)
		return err
	})
	if err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

func (a *announcer) close() {
	if a.arp != nil {
		a.arp.Close()
	}
	if a.ndp != nil {
		a.ndp.Close()
	}
}

var allNodes = netip.MustParseAddr("ff02::1")

// announce sends one gratuitous ARP request (IPv4) or unsolicited
// neighbour advertisement with the Override flag (IPv6) for ip.
func (a *announcer) announce(ip netip.Addr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	mac := a.ifi.HardwareAddr
	if a.arp != nil {
		if len(mac) != 6 {
			return fmt.Errorf("vrrp: %s has no Ethernet address: %w", a.ifi.Name, ErrInvalid)
		}
		_, err := a.arp.WriteTo(appendGARP(nil, mac, ip), &packet.Addr{HardwareAddr: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}})
		return err
	}
	na := &ndp.NeighborAdvertisement{Override: true, TargetAddress: ip,
		Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}}}
	return a.ndp.WriteTo(na, nil, allNodes)
}

// announce announces every VIP once.
func (in *Instance) announce() {
	for _, v := range in.cfg.VIPs {
		a := in.ann
		if da, ok := in.devAnn[v.Dev]; ok {
			a = da
		}
		if a == nil {
			continue
		}
		if err := a.announce(v.Prefix.Addr()); err != nil {
			in.r.log.Debug("vrrp: announce", "instance", in.cfg.Name, "vip", v.Prefix, "err", err)
			continue
		}
		in.stats.garps.Add(1)
	}
}

func (in *Instance) hasNotify() bool {
	n := &in.cfg.Notify
	return len(n.Master)+len(n.Backup)+len(n.Fault)+len(n.Stop)+len(n.Notify) > 0
}

func (in *Instance) notify(t Transition, prio uint8) {
	if in.notifyQ == nil {
		return
	}
	n := &in.cfg.Notify
	var specific []string
	state := t.To.String()
	switch t.To {
	case StateMaster:
		specific = n.Master
	case StateBackup:
		specific = n.Backup
	case StateFault:
		specific = n.Fault
	case StateInit:
		specific, state = n.Stop, "STOP"
	}
	var generic []string
	if len(n.Notify) > 0 {
		generic = append(append([]string(nil), n.Notify...), "INSTANCE", in.cfg.Name, state, strconv.Itoa(int(prio)))
	}
	for _, argv := range [][]string{specific, generic} {
		if len(argv) == 0 {
			continue
		}
		select {
		case in.notifyQ <- argv:
		default:
			in.r.log.Warn("vrrp: notify queue full", "instance", in.cfg.Name)
		}
	}
}

func (in *Instance) notifyWorker() {
	for argv := range in.notifyQ {
		res, err := runNotify(context.Background(), argv, &in.cfg.Notify, in.creds.notify, in.r.cfg.ScriptSecurity)
		switch {
		case err != nil:
			in.r.log.Warn("vrrp: notify script", "instance", in.cfg.Name, "argv", argv, "err", err)
		case !res.Success():
			in.r.log.Warn("vrrp: notify script failed", "instance", in.cfg.Name, "argv", argv,
				"exit", res.ExitCode, "signal", res.Signal, "output", res.Tail())
		}
	}
}

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
