package vrrp

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Router runs VRRP instances in one network namespace. Instances on the
// same interface and family share one receiving raw socket (adverts leave
// through one send-only socket per source address), and one engine drives
// all their state machines: a single scheduler goroutine fires their
// timers, the adverts falling due together leave in one sendmmsg per
// socket, and one reader reads every socket in batches (see readLoop) and
// feeds the adverts straight to the machines they are for. A thousand
// instances thus cost a few wake-ups per second, not a thousand timers
// and sockets; each instance keeps only an idle goroutine that applies
// its transitions' side effects.
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
	rconns []*rawConn // the receiving sockets, in a fixed order
	rxMu   sync.Mutex // one drain at a time; guards rx
	rx     *rxBatch   // the drains' buffers
	anns   map[connKey]*announcer
	byConn map[connKey]map[uint8]*Instance
	links  map[string]*net.Interface
	linkMu sync.Mutex
	addrs  map[connKey][]netlink.Addr // interface addresses, read once at open

	// upd serializes Instance.Update; while live (Run between starting
	// the trackers and shutdown) Update restarts trackers on runWG under
	// runCtx.
	upd    sync.Mutex
	live   bool
	runCtx context.Context
	runWG  *sync.WaitGroup

	// owned are the tracked addresses, routes and rules the instances
	// put in place, by key: a deletion reported for one makes its
	// instance leave MASTER (netwatch_linux.go). Entries leave the map
	// before the instance deletes them itself.
	ownMu sync.Mutex
	owned map[netKey]*Instance
	// ifw hands the same subscription's link and address changes to the
	// instances' interface and source-address trackers.
	ifw ifWatch

	vmacs     []netlink.Link
	sendConns []*rawConn // send-only conns (vmac_xmit_base)
}

type connKey struct {
	ifindex int
	ipv6    bool
}

// NewRouter returns a Router; cfg nil means the defaults. It opens
// nothing and starts no goroutine: add instances with Add, then call Run;
// Close stops it.
func NewRouter(cfg *RouterConfig) (*Router, error) {
	c, log := cfg.withDefaults()
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
	have := make([]*Config, len(r.instances))
	for i, o := range r.instances {
		have[i] = &o.cfg
	}
	creds, err := admit(&cfg, have)
	if err != nil {
		return nil, err
	}
	in := &Instance{cfg: cfg, want: cfg, r: r, slot: newSlot(len(r.instances)), creds: creds}
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
	if !r.startupDelay(ctx) {
		r.close()
		return nil
	}
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
	rdone := make(chan struct{})
	go func() {
		defer close(rdone)
		if err := r.readLoop(ctx); err != nil {
			r.log.Error("vrrp: reader", "err", err)
		}
	}()
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
	wdone, err := r.watch(ctx)
	if err != nil {
		return err
	}
	defer func() { cancel(); <-wdone }()
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
	r.upd.Lock()
	for _, in := range r.instances {
		in.trackStop = in.startTrackers(ctx, &wg, &in.cfg, in.creds.track, 0)
	}
	r.runCtx, r.runWG, r.live = ctx, &wg, true
	r.upd.Unlock()
	r.scheduler(ctx)
	r.upd.Lock()
	r.live = false
	r.upd.Unlock()
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
	<-rdone // before the sockets close: their numbers may be reused
	for _, c := range r.conns {
		c.close()
	}
	wg.Wait()
	return nil
}
