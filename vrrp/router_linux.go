package vrrp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Router runs VRRP instances in one network namespace. Instances on the
// same interface and family share one receiving raw socket (adverts leave
// through one send-only socket per source address), and one engine drives
// all their state machines: a single scheduler goroutine fires their
// timers, the adverts falling due together leave in one sendmmsg per
// socket, and each socket's reader feeds adverts straight to the machine
// they are for. A thousand instances thus cost a few wake-ups per second,
// not a thousand timers and sockets; each instance keeps only an idle
// goroutine that applies its transitions' side effects.
type Router struct {
	cfg       RouterConfig
	log       *slog.Logger
	instances []*Instance
	groups    []*syncGroup
	drops     DropCounters

	// life guards the lifecycle: Run sets running, stopRun and runDone;
	// Close sets closed.
	life    sync.Mutex
	running atomic.Bool
	closed  bool
	stopRun context.CancelFunc
	runDone chan struct{}

	// The engine: mu guards every instance's Machine, the schedule, the
	// sockets' send batches and the queue of events raised inside a step.
	mu         sync.Mutex
	sched      schedule
	raised     []raisedEvent
	dirty      []*sendSock
	sleepUntil time.Time     // when the idle scheduler wakes; zero while it runs
	wake       chan struct{} // capacity 1: an earlier timer was scheduled

	nl     *netlink.Handle
	nlMu   sync.Mutex // one netlink request at a time
	nlReq  chan nlRequest
	nsh    netns.NsHandle
	conns  map[connKey]*rawConn
	anns   map[connKey]*announcer
	byConn map[connKey]map[uint8]*Instance
	links  map[string]*net.Interface
	linkMu sync.Mutex
	addrs  map[connKey][]netlink.Addr // interface addresses, read once at open

	vmacs     []netlink.Link
	vmacConns []*rawConn
}

type connKey struct {
	ifindex int
	ipv6    bool
}

// NewRouter returns a Router; cfg nil means the defaults. It opens
// nothing and starts no goroutine: add instances with Add, then call Run;
// Close stops it.
func NewRouter(cfg *RouterConfig) (*Router, error) {
	var c RouterConfig
	if cfg != nil {
		c = *cfg
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Router{cfg: c, log: log}, nil
}

// Close stops a running Run as the end of its context would (masters
// resign and drop their addresses) and waits for it to return; then Add
// and Run fail with ErrClosed. Close is safe to call more than once, and
// without Run.
func (r *Router) Close() error {
	r.life.Lock()
	if r.closed {
		r.life.Unlock()
		return nil
	}
	r.closed = true
	stop, done := r.stopRun, r.runDone
	r.life.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	return nil
}

// Add adds an instance. It must be called before Run.
func (r *Router) Add(cfg Config) (*Instance, error) {
	if err := r.adding(); err != nil {
		return nil, err
	}
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	for _, o := range r.instances {
		if err := conflict(&o.cfg, &cfg); err != nil {
			return nil, err
		}
	}
	creds, err := cfg.resolveScripts()
	if err != nil {
		return nil, err
	}
	in := &Instance{cfg: cfg, r: r, slot: newSlot(len(r.instances)), creds: creds}
	in.acts.init()
	in.stats.state.Store(uint32(StateInit))
	r.instances = append(r.instances, in)
	return in, nil
}

// adding reports why instances cannot be added now.
func (r *Router) adding() error {
	r.life.Lock()
	defer r.life.Unlock()
	switch {
	case r.closed:
		return ErrClosed
	case r.running.Load():
		return fmt.Errorf("vrrp: add after Run: %w", ErrRunning)
	}
	return nil
}

// SyncGroup ties instances together (keepalived vrrp_sync_group): a fault
// in one faults all, and when one becomes master or steps down the others
// follow.
func (r *Router) SyncGroup(name string, members ...*Instance) error {
	if err := r.adding(); err != nil {
		return err
	}
	g := &syncGroup{name: name, members: members}
	for _, m := range members {
		if m.r != r || m.group != nil {
			return fmt.Errorf("vrrp: sync group %s: instance %s belongs elsewhere: %w", name, m.cfg.Name, ErrInvalid)
		}
		m.group = g
	}
	r.groups = append(r.groups, g)
	return nil
}

// Drops counts packets dropped before they reached an instance (malformed,
// bad checksum, unknown VRID).
func (r *Router) Drops() *DropCounters { return &r.drops }

// Instances returns the instances added.
func (r *Router) Instances() []*Instance { return r.instances }

// Run opens the sockets, runs every instance until ctx is done, then shuts
// them down as RFC 9568 asks (a master sends priority 0 and drops its
// addresses) and returns.
//
// Run returns ErrClosed after Close, and ErrRunning when it was called
// before.
func (r *Router) Run(ctx context.Context) error {
	r.life.Lock()
	switch {
	case r.closed:
		r.life.Unlock()
		return ErrClosed
	case r.running.Load():
		r.life.Unlock()
		return ErrRunning
	}
	r.running.Store(true)
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	r.stopRun, r.runDone = stop, make(chan struct{})
	defer close(r.runDone)
	r.life.Unlock()
	if err := r.open(); err != nil {
		r.close()
		return err
	}
	defer r.close()
	for _, in := range r.instances {
		if err := in.setup(); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for k, c := range r.conns {
		wg.Go(func() { r.readLoop(ctx, k, c) })
	}
	// Netlink requests run on one goroutine: vishvananda/netlink keeps a
	// 64 KiB receive buffer on the stack, which would otherwise grow every
	// action goroutine's stack to 128 KiB.
	r.nlReq = make(chan nlRequest)
	nlDone := make(chan struct{})
	go func() {
		defer close(nlDone)
		for req := range r.nlReq {
			r.nlMu.Lock()
			req.done <- req.fn(r.nl)
			r.nlMu.Unlock()
		}
	}()
	defer func() { close(r.nlReq); <-nlDone }()
	var awg sync.WaitGroup
	for _, in := range r.instances {
		awg.Go(in.runActions)
	}
	r.wake = make(chan struct{}, 1)
	r.lock()
	for _, in := range r.instances {
		in.m.Start(time.Now())
		in.resched()
	}
	r.unlock()
	for _, in := range r.instances {
		in.startTrackers(ctx, &wg)
	}
	r.scheduler(ctx)
	// Shutdown: masters resign (priority 0) and drop their addresses.
	r.lock()
	for _, in := range r.instances {
		in.m.Stop(time.Now())
		in.resched()
	}
	r.unlock()
	for _, in := range r.instances {
		in.acts.close()
	}
	awg.Wait()
	for _, c := range r.conns {
		c.close() // unblocks the readers
	}
	wg.Wait()
	return nil
}

// raisedEvent is an event for another instance raised inside an engine
// step (sync groups); it runs before the step ends.
type raisedEvent struct {
	in *Instance
	ev event
}

// lock starts an engine step.
func (r *Router) lock() { r.mu.Lock() }

// unlock ends an engine step: it runs the events the step raised, sends
// the adverts it queued, and wakes the scheduler if a timer now falls due
// before it meant to wake.
func (r *Router) unlock() {
	for i := 0; i < len(r.raised); i++ { // handlers may raise more
		e := r.raised[i]
		e.in.handle(e.ev)
	}
	clear(r.raised)
	r.raised = r.raised[:0]
	r.flush()
	poke := false
	if w := r.sched.wake(); !w.IsZero() && !r.sleepUntil.IsZero() && w.Before(r.sleepUntil) {
		poke = true
		r.sleepUntil = time.Time{}
	}
	r.mu.Unlock()
	if poke {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// raise queues an event for in, to run within the current engine step.
func (r *Router) raise(in *Instance, ev event) {
	r.raised = append(r.raised, raisedEvent{in, ev})
}

// markDirty notes that c has adverts queued.
func (r *Router) markDirty(c *sendSock) {
	for _, d := range r.dirty {
		if d == c {
			return
		}
	}
	r.dirty = append(r.dirty, c)
}

func (r *Router) flush() {
	for _, c := range r.dirty {
		c.flush()
	}
	clear(r.dirty)
	r.dirty = r.dirty[:0]
}

// tick fires the timer of instance id.
func (r *Router) tick(id int, now time.Time) {
	in := r.instances[id]
	in.m.Tick(now)
	in.resched()
}

// scheduler fires the instances' timers until ctx is done. It sleeps until
// the earliest is due, or, for a backup's Master_Down_Timer, until
// spinWindow before it and then spins, so that takeover does not wait on
// the runtime's timer granularity.
func (r *Router) scheduler(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	tick := r.tick
	for {
		r.lock()
		r.sleepUntil = time.Time{}
		now := time.Now()
		r.sched.fire(now, len(r.instances)+1, tick) // each Tick moves a slot past now
		w := r.sched.wake()
		spin := !w.IsZero() && !w.After(now)
		if !spin {
			r.sleepUntil = w
			if w.IsZero() {
				r.sleepUntil = now.Add(time.Hour)
			}
		}
		r.unlock()
		if spin {
			if ctx.Err() != nil {
				return
			}
			runtime.Gosched()
			continue
		}
		if w.IsZero() {
			t.Reset(time.Hour)
		} else {
			t.Reset(w.Sub(now))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.wake:
		}
	}
}

func (r *Router) open() error {
	var err error
	r.nsh = netns.None()
	if r.cfg.NetNS != "" {
		if r.nsh, err = netns.GetFromPath(r.cfg.NetNS); err != nil {
			return fmt.Errorf("vrrp: netns %s: %w", r.cfg.NetNS, err)
		}
	}
	if r.nl, err = netlink.NewHandleAt(r.nsh, unix.NETLINK_ROUTE); err != nil {
		return fmt.Errorf("vrrp: netlink: %w", err)
	}
	r.conns = map[connKey]*rawConn{}
	r.anns = map[connKey]*announcer{}
	r.byConn = map[connKey]map[uint8]*Instance{}
	r.links = map[string]*net.Interface{}
	r.addrs = map[connKey][]netlink.Addr{}
	for _, in := range r.instances {
		ifi, err := r.link(in.cfg.Interface)
		if err != nil {
			return fmt.Errorf("vrrp: instance %s: %w", in.cfg.Name, err)
		}
		in.ifi = ifi
		for _, v := range in.cfg.VIPs {
			if v.Dev != "" { // resolve now, so that the instance never asks netlink
				if _, err := r.link(v.Dev); err != nil {
					return fmt.Errorf("vrrp: instance %s: VIP %v: %w", in.cfg.Name, v.Prefix, err)
				}
			}
		}
		if err := in.pickSource(); err != nil {
			return err
		}
		k := connKey{ifi.Index, in.cfg.ipv6()}
		c := r.conns[k]
		if c == nil {
			err = inNS(r.cfg.NetNS, func() error {
				var err error
				c, err = listenRaw(ifi, k.ipv6)
				return err
			})
			if err != nil {
				return err
			}
			c.ns = r.cfg.NetNS
			r.conns[k] = c
			r.byConn[k] = map[uint8]*Instance{}
		}
		if len(in.cfg.Peers) == 0 && !c.joined {
			if err := c.join(); err != nil {
				return err
			}
		}
		in.conn = c
		dsts := in.cfg.Peers
		if len(dsts) == 0 {
			dsts = []netip.Addr{in.dst}
		}
		if in.snd, err = c.newSender(in.src, dsts); err != nil {
			return err
		}
		r.byConn[k][in.cfg.VRID] = in
		if in.cfg.FilterNonAccept && !in.cfg.Accept && in.cfg.Priority != 255 {
			nsfd := -1
			if r.cfg.NetNS != "" {
				nsfd = int(r.nsh)
			}
			in.filter = newAcceptFilter(nsfd, &in.cfg)
			if err := in.filter.clear(); err != nil {
				return fmt.Errorf("vrrp: instance %s: nftables: %w", in.cfg.Name, err)
			}
		}
		annIfi := ifi
		if in.cfg.VMAC {
			vm, sc, err := r.openVMAC(in, ifi)
			if err != nil {
				return err
			}
			in.vmac, annIfi = vm, vm
			if in.snd, err = sc.newSender(in.src, dsts); err != nil {
				return err
			}
		}
		if in.cfg.GARP.Disabled {
			continue
		}
		ak := connKey{annIfi.Index, k.ipv6}
		a, ok := r.anns[ak]
		if !ok {
			if a, err = openAnnouncer(r.cfg.NetNS, annIfi, k.ipv6); err != nil {
				r.log.Warn("vrrp: gratuitous ARP/NA unavailable", "interface", ifi.Name, "err", err)
			}
			r.anns[ak] = a // nil after an error: do not retry per instance
		}
		in.ann = a
		// A VIP on another interface (keepalived "dev") is announced out of
		// that interface, or its neighbours keep the old master's MAC.
		for _, v := range in.cfg.VIPs {
			if v.Dev == "" || v.Dev == in.cfg.Interface {
				continue
			}
			vifi, err := r.link(v.Dev)
			if err != nil {
				return fmt.Errorf("vrrp: instance %s: VIP %v: %w", in.cfg.Name, v.Prefix, err)
			}
			vk := connKey{vifi.Index, k.ipv6}
			va, ok := r.anns[vk]
			if !ok {
				if va, err = openAnnouncer(r.cfg.NetNS, vifi, k.ipv6); err != nil {
					r.log.Warn("vrrp: gratuitous ARP/NA unavailable", "interface", vifi.Name, "err", err)
				}
				r.anns[vk] = va
			}
			if in.devAnn == nil {
				in.devAnn = map[string]*announcer{}
			}
			in.devAnn[v.Dev] = va
		}
	}
	return nil
}

func (r *Router) close() {
	for _, in := range r.instances { // normally removed already, on leaving master
		if in.filter != nil {
			if err := in.filter.set(false); err != nil {
				r.log.Warn("vrrp: non-accept filter", "instance", in.cfg.Name, "err", err)
			}
		}
	}
	for _, c := range r.conns {
		c.close()
	}
	for _, a := range r.anns {
		if a != nil {
			a.close()
		}
	}
	for _, c := range r.vmacConns {
		c.close()
	}
	for _, l := range r.vmacs {
		if err := r.nl.LinkDel(l); err != nil {
			r.log.Warn("vrrp: delete vmac", "interface", l.Attrs().Name, "err", err)
		}
	}
	if r.nl != nil {
		r.nl.Close()
	}
	if r.cfg.NetNS != "" {
		r.nsh.Close()
	}
}

type nlRequest struct {
	fn   func(*netlink.Handle) error
	done chan error
}

// netlink runs fn on the router's netlink goroutine and waits for it.
func (r *Router) netlink(fn func(*netlink.Handle) error) error {
	done := make(chan error, 1)
	r.nlReq <- nlRequest{fn: fn, done: done}
	return <-done
}

// link looks an interface up inside the router's namespace.
func (r *Router) link(name string) (*net.Interface, error) {
	r.linkMu.Lock()
	defer r.linkMu.Unlock()
	if ifi, ok := r.links[name]; ok {
		return ifi, nil
	}
	r.nlMu.Lock()
	l, err := r.nl.LinkByName(name)
	r.nlMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", name, err)
	}
	a := l.Attrs()
	ifi := &net.Interface{Index: a.Index, MTU: a.MTU, Name: a.Name, HardwareAddr: a.HardwareAddr, Flags: a.Flags}
	r.links[name] = ifi
	return ifi, nil
}

func (r *Router) readLoop(ctx context.Context, k connKey, c *rawConn) {
	buf := make([]byte, 9216)
	var p Packet
	insts := r.byConn[k]
	for ctx.Err() == nil {
		n, info, err := c.read(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			if errors.Is(err, ErrInvalid) { // a malformed IPv4 header
				r.drops.Add(DropLength)
				continue
			}
			r.log.Warn("vrrp: read", "ifindex", k.ifindex, "err", err)
			time.Sleep(10 * time.Millisecond) // avoid spinning on a persistent error
			continue
		}
		now := time.Now()
		mode, reason := Parse(buf[:n], info, &p)
		if reason != DropNone {
			r.drops.Add(reason)
			continue
		}
		in := insts[p.VRID]
		if in == nil {
			r.drops.Add(DropVRID)
			continue
		}
		if reason := in.expect.Check(&p, info); reason != DropNone {
			in.stats.drops.Add(reason)
			continue
		}
		if mode == ChecksumMessageOnly && p.Version == 3 {
			in.stats.checksumMessageOnly.Add(1)
		} else if p.Version == 3 {
			in.stats.checksumPseudo.Add(1)
		}
		in.stats.received.Add(1)
		r.lock()
		in.handle(event{kind: evAdvert, at: now, src: info.Src, prio: p.Priority, ivl: p.Interval})
		r.unlock()
	}
}

// pickSource chooses the advert source address when none is configured.
func (in *Instance) pickSource() error {
	in.expect = Expect{Version: in.cfg.Version, VRID: in.cfg.VRID, AuthType: in.cfg.AuthType, AuthPass: in.cfg.authPass(),
		Interval: in.cfg.Interval, CheckAddrs: in.cfg.CheckAddrs, Peers: in.cfg.Peers}
	for _, v := range in.cfg.VIPs {
		in.expect.Addrs = append(in.expect.Addrs, v.Prefix.Addr())
	}
	if in.cfg.Source.IsValid() {
		in.src = in.cfg.Source
	} else {
		fam := netlink.FAMILY_V4
		if in.cfg.ipv6() {
			fam = netlink.FAMILY_V6
		}
		k := connKey{in.ifi.Index, in.cfg.ipv6()}
		addrs, ok := in.r.addrs[k]
		if !ok {
			var err error
			addrs, err = in.r.nl.AddrList(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: in.ifi.Index}}, fam)
			if err != nil {
				return fmt.Errorf("vrrp: instance %s: addresses of %s: %w", in.cfg.Name, in.cfg.Interface, err)
			}
			in.r.addrs[k] = addrs
		}
		for _, a := range addrs {
			ip, _ := netip.AddrFromSlice(a.IP)
			ip = ip.Unmap()
			if in.isVIP(ip) {
				continue
			}
			if in.cfg.ipv6() && !ip.IsLinkLocalUnicast() {
				continue
			}
			in.src = ip
			break
		}
		if !in.src.IsValid() {
			return fmt.Errorf("vrrp: instance %s: no usable source address on %s: %w", in.cfg.Name, in.cfg.Interface, ErrInvalid)
		}
	}
	in.expect.Self = in.src
	in.dst = MulticastIPv4
	if in.cfg.ipv6() {
		in.dst = MulticastIPv6
	}
	return nil
}

func (in *Instance) isVIP(a netip.Addr) bool {
	for _, v := range in.cfg.VIPs {
		if v.Prefix.Addr() == a {
			return true
		}
	}
	return false
}
