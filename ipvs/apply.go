package ipvs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// OpKind is the kind of one IPVS change.
type OpKind uint8

// Operation kinds. The destination kinds come last (Client.Do relies on it).
const (
	OpNewService OpKind = iota + 1
	OpUpdateService
	OpDeleteService
	OpNewDestination
	OpUpdateDestination
	OpDeleteDestination
)

// String returns the ipvsadm command letter's long name ("add-service", ...).
func (k OpKind) String() string {
	switch k {
	case OpNewService:
		return "add-service"
	case OpUpdateService:
		return "edit-service"
	case OpDeleteService:
		return "delete-service"
	case OpNewDestination:
		return "add-server"
	case OpUpdateDestination:
		return "edit-server"
	case OpDeleteDestination:
		return "delete-server"
	}
	return fmt.Sprintf("op(%d)", uint8(k))
}

// Op is one change: a service operation, or a destination operation on
// Destination of Service.
type Op struct {
	Kind        OpKind
	Service     Service
	Destination Destination
}

// String describes the operation: "add-server TCP 10.0.0.1:80 -> 10.1.0.1:80".
func (o Op) String() string {
	if o.Kind >= OpNewDestination {
		return o.Kind.String() + " " + o.Service.String() + " -> " + o.Destination.Addr.String()
	}
	return o.Kind.String() + " " + o.Service.String()
}

// Changes lists the operations an Apply issued, in order.
type Changes struct {
	// Ops are the operations; nil after a streamed apply
	// (ApplyConfig.Stream), which counts them only.
	Ops []Op

	counted bool
	n       [OpDeleteDestination + 1]int
}

// Len returns the number of operations.
func (c Changes) Len() int {
	if c.counted {
		t := 0
		for _, v := range c.n {
			t += v
		}
		return t
	}
	return len(c.Ops)
}

// Count returns the number of operations of kind k.
func (c Changes) Count(k OpKind) int {
	if c.counted {
		if int(k) < len(c.n) {
			return c.n[k]
		}
		return 0
	}
	n := 0
	for _, o := range c.Ops {
		if o.Kind == k {
			n++
		}
	}
	return n
}

// ApplyConfig changes how Apply treats services that are not desired. A nil
// *ApplyConfig and the zero value delete every service missing from the
// desired set.
type ApplyConfig struct {
	// Managed, when set, limits deletion to services for which it returns
	// true; other services missing from the desired set are left alone.
	// A func returning false keeps every unlisted service.
	Managed func(ServiceKey) bool
	// MaglevOrder makes the kernel's destination list of every service
	// scheduled by mh follow the desired order (the head of the list is the
	// first desired destination), re-adding destinations where a change
	// would put the list out of that order, and gives a destination at
	// weight 0 no slot. The kernel's Maglev table then depends on the
	// desired destinations and weights alone, so hosts given the same
	// destinations in the same order build identical tables whatever their
	// history. See apply_maglev.go for the kernel's facts and the cost.
	MaglevOrder bool
	// Stream lets an Applier's first apply onto a kernel without services
	// (a start: one operation per service and per destination) run its
	// operations in batches as it computes them, instead of computing
	// them all first (at 10,000 services × 4 destinations, 50,000
	// operations held 18 MB). It checks every desired service before the
	// first batch, so what Apply refuses it still refuses with nothing
	// written; Changes then counts the operations (Len, Count) and lists
	// none. Other applies, and Diff and ApplyTo, ignore it.
	Stream bool
}

// Ops is what Apply needs from a client; *Client implements it, and tests
// use an in-memory fake.
type Ops interface {
	// Dump returns every service with its destinations.
	Dump(ctx context.Context) ([]Service, error)
	// Do runs operations in order.
	Do(ctx context.Context, ops []Op) error
}

// ApplyTo reads the current state from o, computes the minimal operations
// that turn it into desired (Diff) and runs them.
func ApplyTo(ctx context.Context, o Ops, desired []Service, cfg *ApplyConfig) (Changes, error) {
	current, err := o.Dump(ctx)
	if err != nil {
		return Changes{}, err
	}
	ops, err := Diff(current, desired, cfg)
	if err != nil {
		return Changes{}, err
	}
	if len(ops) == 0 {
		return Changes{}, nil
	}
	return Changes{Ops: ops}, o.Do(ctx, ops)
}

// Diff computes the operations that turn current into desired: services
// missing from desired are deleted (subject to cfg, which may be nil), new ones are
// added with their destinations, changed settings are updates (a weight
// change is one destination update, never a delete and add), and nothing is
// issued for what already matches, so Diff(x, x) is empty. Deletions of
// services come first; then, service by service in desired order, the
// service's own change, destination deletions, updates and additions.
func Diff(current, desired []Service, cfg *ApplyConfig) ([]Op, error) {
	idx := make(map[ServiceKey]int, len(current))
	for i := range current {
		idx[current[i].Key()] = i
	}
	ops, _, err := diffIndexed(dumpView(current), idx, desired, cfg)
	return ops, err
}

// diffIndexed is Diff over current services indexed by key (services cur
// reports not live are skipped). It also returns the indices of the
// desired services that needed operations.
//
// Where cur knows a fingerprint of a current service (configSum), a
// desired service at the same index with the same key and fingerprint is
// unchanged, and its destinations are not compared one by one, which
// saves reading the remembered copy.
func diffIndexed(cur view, idx map[ServiceKey]int, desired []Service, cfg *ApplyConfig) ([]Op, []int, error) {
	var managed func(ServiceKey) bool
	if cfg != nil {
		managed = cfg.Managed
	}
	ncur := cur.len()
	matched := make([]bool, ncur)
	nMatched := 0
	var fresh map[ServiceKey]struct{}
	var body []Op
	var changed []int
	live := 0
	for j := range ncur {
		if cur.live(j) {
			live++
		}
	}
	if live == 0 {
		// A first apply adds everything: one operation per service and
		// per destination, allocated once (at 10,000 services of four
		// destinations, growing the slice cost 2.5 times its size).
		n := len(desired)
		for i := range desired {
			n += len(desired[i].Destinations)
		}
		body = make([]Op, 0, n)
		changed = make([]int, 0, len(desired))
	}
	for i := range desired {
		s := &desired[i]
		k := s.Key()
		n := len(body)
		// Positional fast path: an Applier keeps its state in the order
		// it was last given, so most services sit at the same index.
		j, ok := i, i < ncur && cur.live(i) && cur.key(i) == k
		if ok {
			if sum, known := cur.sum(i); known && sum == configSum(s) {
				if matched[i] {
					return nil, nil, fmt.Errorf("%w: service %v listed twice", ErrInvalid, k)
				}
				matched[i] = true
				nMatched++
				continue
			}
		}
		if !ok {
			j, ok = idx[k]
		}
		if ok && cur.live(j) {
			if matched[j] {
				return nil, nil, fmt.Errorf("%w: service %v listed twice", ErrInvalid, k)
			}
			matched[j] = true
			nMatched++
			var err error
			body, err = diffAny(cfg, body, cur.service(j), s)
			if err != nil {
				return nil, nil, err
			}
		} else {
			if fresh == nil {
				fresh = make(map[ServiceKey]struct{})
			}
			if _, dup := fresh[k]; dup {
				return nil, nil, fmt.Errorf("%w: service %v listed twice", ErrInvalid, k)
			}
			fresh[k] = struct{}{}
			var err error
			body, err = diffAny(cfg, body, nil, s)
			if err != nil {
				return nil, nil, err
			}
		}
		if len(body) > n {
			changed = append(changed, i)
		}
	}
	var ops []Op
	if nMatched < live {
		for j := range ncur {
			if !cur.live(j) || matched[j] {
				continue
			}
			if managed != nil && !managed(cur.key(j)) {
				continue
			}
			ops = append(ops, Op{Kind: OpDeleteService, Service: bare(cur.service(j))})
		}
	}
	if len(ops) == 0 {
		return body, changed, nil
	}
	return append(ops, body...), changed, nil
}

// diffAny is diffMaglev for the services cfg orders as Maglev's, else
// diffService.
func diffAny(cfg *ApplyConfig, ops []Op, cur, want *Service) ([]Op, error) {
	if isMaglev(cfg, want) {
		return diffMaglev(ops, cur, want)
	}
	return diffService(ops, cur, want)
}

// checkDests rejects invalid or repeated destinations.
func checkDests(s *Service) error {
	if len(s.Destinations) <= 8 {
		for i := range s.Destinations {
			if err := s.Destinations[i].Validate(); err != nil {
				return fmt.Errorf("service %v: %w", s.Key(), err)
			}
			for j := 0; j < i; j++ {
				if s.Destinations[j].Addr == s.Destinations[i].Addr {
					return fmt.Errorf("%w: service %v: destination %v listed twice", ErrInvalid, s.Key(), s.Destinations[i].Addr)
				}
			}
		}
		return nil
	}
	addrs := make(map[netip.AddrPort]struct{}, len(s.Destinations))
	for i := range s.Destinations {
		if err := s.Destinations[i].Validate(); err != nil {
			return fmt.Errorf("service %v: %w", s.Key(), err)
		}
		a := s.Destinations[i].Addr
		if _, dup := addrs[a]; dup {
			return fmt.Errorf("%w: service %v: destination %v listed twice", ErrInvalid, s.Key(), a)
		}
		addrs[a] = struct{}{}
	}
	return nil
}

// bare returns s without destinations and statistics, as ops carry it.
func bare(s *Service) Service {
	b := *s
	b.Destinations = nil
	b.Stats = Stats{}
	return b
}

// diffService appends the operations that turn cur (nil: absent) into
// want. It validates what it writes: the service when it adds or edits it,
// destinations when it adds or edits them, and the destination list unless
// it names the current destinations in the current order.
func diffService(ops []Op, cur, want *Service) ([]Op, error) {
	if cur == nil || !sameServiceConfig(cur, want) {
		if err := want.Validate(); err != nil {
			return nil, err
		}
	}
	svc := bare(want)
	if cur == nil {
		if err := checkDests(want); err != nil {
			return nil, err
		}
		ops = append(ops, Op{Kind: OpNewService, Service: svc})
		for i := range want.Destinations {
			ops = append(ops, Op{Kind: OpNewDestination, Service: svc, Destination: destConfig(&want.Destinations[i])})
		}
		return ops, nil
	}
	if !sameServiceConfig(cur, want) {
		ops = append(ops, Op{Kind: OpUpdateService, Service: svc})
	}
	if sameDestOrder(cur.Destinations, want.Destinations) {
		for i := range want.Destinations {
			if !sameDestConfig(&cur.Destinations[i], &want.Destinations[i]) {
				if err := want.Destinations[i].Validate(); err != nil {
					return nil, fmt.Errorf("service %v: %w", want.Key(), err)
				}
				ops = append(ops, Op{Kind: OpUpdateDestination, Service: svc, Destination: destConfig(&want.Destinations[i])})
			}
		}
		return ops, nil
	}
	if err := checkDests(want); err != nil {
		return nil, err
	}
	find := func(list []Destination, d *Destination) *Destination {
		for i := range list {
			if list[i].Addr == d.Addr {
				return &list[i]
			}
		}
		return nil
	}
	// Few destinations per service are the rule; above that, index them.
	var curIdx, wantIdx map[netip.AddrPort]*Destination
	if len(cur.Destinations) > 16 || len(want.Destinations) > 16 {
		curIdx = make(map[netip.AddrPort]*Destination, len(cur.Destinations))
		for i := range cur.Destinations {
			curIdx[cur.Destinations[i].Addr] = &cur.Destinations[i]
		}
		wantIdx = make(map[netip.AddrPort]*Destination, len(want.Destinations))
		for i := range want.Destinations {
			wantIdx[want.Destinations[i].Addr] = &want.Destinations[i]
		}
		find = nil
	}
	lookup := func(idx map[netip.AddrPort]*Destination, list []Destination, d *Destination) *Destination {
		if idx != nil {
			return idx[d.Addr]
		}
		return find(list, d)
	}
	for i := range cur.Destinations {
		d := &cur.Destinations[i]
		if lookup(wantIdx, want.Destinations, d) == nil {
			ops = append(ops, Op{Kind: OpDeleteDestination, Service: svc, Destination: destConfig(d)})
		}
	}
	var adds []Op
	for i := range want.Destinations {
		d := &want.Destinations[i]
		c := lookup(curIdx, cur.Destinations, d)
		switch {
		case c == nil:
			adds = append(adds, Op{Kind: OpNewDestination, Service: svc, Destination: destConfig(d)})
		case !sameDestConfig(c, d):
			ops = append(ops, Op{Kind: OpUpdateDestination, Service: svc, Destination: destConfig(d)})
		}
	}
	return append(ops, adds...), nil
}

// sameDestOrder reports whether both lists name the same destinations in
// the same order, the common case that needs no lookups.
func sameDestOrder(a, b []Destination) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Addr != b[i].Addr {
			return false
		}
	}
	return true
}

// destConfig returns d without counters.
func destConfig(d *Destination) Destination {
	c := *d
	c.ActiveConns, c.InactiveConns, c.PersistentConns = 0, 0, 0
	c.Stats = Stats{}
	return c
}

// sameServiceConfig compares what UpdateService can change.
func sameServiceConfig(a, b *Service) bool {
	return a.scheduler() == b.scheduler() &&
		a.Flags&^FlagHashed == b.Flags&^FlagHashed &&
		a.Timeout/time.Second == b.Timeout/time.Second &&
		a.netmask() == b.netmask() &&
		a.PersistenceEngine == b.PersistenceEngine
}

// sameDestConfig compares what UpdateDestination can change.
func sameDestConfig(a, b *Destination) bool {
	return a.Forward == b.Forward && a.Weight == b.Weight &&
		a.UpperThreshold == b.UpperThreshold && a.LowerThreshold == b.LowerThreshold &&
		a.TunnelType == b.TunnelType && a.TunnelPort == b.TunnelPort &&
		a.TunnelFlags == b.TunnelFlags
}

// Applier applies desired states repeatedly, remembering the state it last
// left the kernel in, so that a reload with one change costs one operation
// and no dump. It assumes nothing else changes the services it manages; call
// Resync (or let an error do it) when that may not hold. It is not safe for
// concurrent use.
type Applier struct {
	o     Ops
	known []knownService // apply_state.go
	idx   map[ServiceKey]int
	dead  int
	valid bool
	fresh bool // known is a dump, in kernel order
	// cur and buf are where knownService.service writes the service it
	// returns; buf is kept between applies unless it grew large.
	cur Service
	buf []Destination
}

// dropScratch forgets the scratch service, and its destinations when
// they take more than a few hundred bytes.
func (a *Applier) dropScratch() {
	a.cur = Service{}
	if cap(a.buf) > 16 {
		a.buf = nil
	}
	clear(a.buf[:cap(a.buf)])
}

// NewApplier returns an Applier working through o (usually a *Client).
func NewApplier(o Ops) *Applier { return &Applier{o: o} }

// Resync makes the next Apply read the kernel's state again.
func (a *Applier) Resync() {
	a.valid, a.fresh, a.known, a.idx, a.dead, a.buf, a.cur = false, false, nil, nil, 0, nil, Service{}
}

// streamBatch is how many operations a streamed first apply hands to Do at
// once: four of Client's netlink windows.
const streamBatch = 1024

// Apply makes the kernel match desired, like ApplyTo, but diffs against the
// remembered state when it has one.
func (a *Applier) Apply(ctx context.Context, desired []Service, cfg *ApplyConfig) (Changes, error) {
	if err := a.load(ctx); err != nil {
		return Changes{}, err
	}
	if cfg != nil && cfg.Stream && a.dead == len(a.known) {
		return a.stream(ctx, desired, cfg)
	}
	ops, changed, err := diffIndexed(a, a.idx, desired, cfg)
	a.dropScratch()
	if err != nil {
		return Changes{}, err
	}
	if len(ops) > 0 {
		if err := a.o.Do(ctx, ops); err != nil {
			a.Resync()
			return Changes{Ops: ops}, err
		}
	}
	if a.fresh {
		a.reorder(desired, ops, nil)
	} else {
		a.remember(desired, ops, changed)
	}
	if len(ops) == 0 {
		return Changes{}, nil
	}
	return Changes{Ops: ops}, nil
}

// stream is Apply when no service is known (a first apply on an empty
// kernel) under cfg.Stream: every desired service is added, so it checks
// them all first (what Diff would refuse, it refuses before anything is
// written), then computes and runs the operations streamBatch at a time,
// and returns their count.
func (a *Applier) stream(ctx context.Context, desired []Service, cfg *ApplyConfig) (Changes, error) {
	s := a.newStream(len(desired), cfg)
	if err := s.Add(ctx, desired); err != nil {
		return s.ch, err
	}
	return s.End()
}

// Stream is a streamed first apply (ApplyConfig.Stream) whose desired
// state the caller hands over in pieces: each piece's services are
// checked, added to the kernel and remembered before Add returns, so
// that the caller may compute the next piece into the same memory. At
// 10,000 services × 4 destinations the whole desired state is 8 MB; a
// piece of a few hundred services is a few hundred KB.
type Stream struct {
	a     *Applier
	cfg   *ApplyConfig
	batch []Op
	known []knownService
	idx   map[ServiceKey]int
	ch    Changes
	err   error
}

// Stream begins a streamed first apply of n services in all (a size
// hint) when the Applier knows no service (it reads the kernel's state
// first if it has none): ok false means the kernel has services, and
// Apply is the way to reach the desired state. Services go in with Add;
// End makes the Applier remember them, as Apply does.
func (a *Applier) Stream(ctx context.Context, n int, cfg *ApplyConfig) (s *Stream, ok bool, err error) {
	if err := a.load(ctx); err != nil {
		return nil, false, err
	}
	if a.dead != len(a.known) {
		return nil, false, nil
	}
	return a.newStream(n, cfg), true, nil
}

func (a *Applier) newStream(n int, cfg *ApplyConfig) *Stream {
	s := &Stream{a: a, cfg: cfg, batch: make([]Op, 0, streamBatch),
		known: make([]knownService, 0, n), idx: make(map[ServiceKey]int, n)}
	s.ch.counted = true
	return s
}

// Add checks services (a service listed twice, here or in an earlier
// Add, or invalid, is refused before any of them is written), adds them
// to the kernel and remembers copies of them. After an error the
// Applier reads the kernel's state again at its next apply, and the
// Stream refuses more.
func (s *Stream) Add(ctx context.Context, services []Service) error {
	if s.err != nil {
		return s.err
	}
	n0 := len(s.known)
	for i := range services {
		sv := &services[i]
		k := sv.Key()
		if _, dup := s.idx[k]; dup {
			return s.fail(fmt.Errorf("%w: service %v listed twice", ErrInvalid, k))
		}
		s.idx[k] = n0 + i
		if err := sv.Validate(); err != nil {
			return s.fail(err)
		}
		if err := checkDests(sv); err != nil {
			return s.fail(err)
		}
	}
	for i := range services {
		var err error
		if s.batch, err = diffAny(s.cfg, s.batch, nil, &services[i]); err != nil {
			return s.fail(err)
		}
		if len(s.batch) >= streamBatch {
			if err := s.flush(ctx); err != nil {
				return s.fail(err)
			}
		}
	}
	// The batch's operations hold the services' destinations: they go
	// before the caller may reuse them.
	if err := s.flush(ctx); err != nil {
		return s.fail(err)
	}
	// The copies' destinations come from one array per Add.
	n := 0
	for i := range services {
		n += len(services[i].Destinations)
	}
	dests := make([]knownDest, 0, n)
	s.known = slices.Grow(s.known, len(services))[:n0+len(services)]
	for i := range services {
		setKnown(&s.known[n0+i], &services[i], &dests)
	}
	return nil
}

// fail ends the stream with err; once anything was written, the
// Applier reads the kernel's state again at its next apply.
func (s *Stream) fail(err error) error {
	s.err = err
	if s.ch.Len() > 0 {
		s.a.Resync()
	}
	return err
}

// flush runs the batch's operations.
func (s *Stream) flush(ctx context.Context) error {
	if len(s.batch) == 0 {
		return nil
	}
	for i := range s.batch {
		s.ch.n[s.batch[i].Kind]++
	}
	err := s.a.o.Do(ctx, s.batch)
	clear(s.batch)
	s.batch = s.batch[:0]
	return err
}

// End makes the Applier remember the services added, in the order
// added, and returns the operations' count. The Applier is not used
// between Stream and End.
func (s *Stream) End() (Changes, error) {
	if s.err != nil {
		return s.ch, s.err
	}
	s.err = errStreamEnded
	a := s.a
	a.known, a.idx, a.dead, a.fresh, a.valid = s.known, s.idx, 0, false, true
	return s.ch, nil
}

// errStreamEnded is what a Stream's Add and End return after End.
var errStreamEnded = errors.New("ipvs: stream ended")

// ApplyServices makes the kernel match each of services, as Apply does,
// and leaves every other service as it was: it adds the services it does
// not know, changes the ones that differ from what it last applied, and
// deletes none (cfg.Managed plays no part; cfg.MaglevOrder does). Its
// cost follows len(services), not the number of services applied before:
// a caller that knows which services changed (one health change among
// 10,000 services) hands over only those. Services are diffed in the order
// given; listing one twice is an error.
func (a *Applier) ApplyServices(ctx context.Context, services []Service, cfg *ApplyConfig) (Changes, error) {
	if err := a.load(ctx); err != nil {
		return Changes{}, err
	}
	defer a.dropScratch()
	var ops []Op
	var changed []int
	var seen map[ServiceKey]struct{}
	if len(services) > 8 {
		seen = make(map[ServiceKey]struct{}, len(services))
		// The services it does not know are added whole: room for their
		// operations at once (a start handing over services in chunks
		// grew the slice to twice its size in every chunk).
		n := 0
		for i := range services {
			if j, ok := a.idx[services[i].Key()]; !ok || !a.known[j].live {
				n += 1 + len(services[i].Destinations)
			}
		}
		ops = make([]Op, 0, n)
	}
	for i := range services {
		s := &services[i]
		k := s.Key()
		if seen != nil {
			if _, dup := seen[k]; dup {
				return Changes{}, fmt.Errorf("%w: service %v listed twice", ErrInvalid, k)
			}
			seen[k] = struct{}{}
		} else {
			for j := range i {
				if services[j].Key() == k {
					return Changes{}, fmt.Errorf("%w: service %v listed twice", ErrInvalid, k)
				}
			}
		}
		var cur *Service
		if j, ok := a.idx[k]; ok && a.known[j].live {
			if a.known[j].sum == configSum(s) {
				continue
			}
			cur = a.service(j)
		}
		n := len(ops)
		var err error
		ops, err = diffAny(cfg, ops, cur, s)
		if err != nil {
			return Changes{}, err
		}
		if len(ops) > n {
			changed = append(changed, i)
		}
	}
	if len(ops) == 0 {
		return Changes{}, nil
	}
	if err := a.o.Do(ctx, ops); err != nil {
		a.Resync()
		return Changes{Ops: ops}, err
	}
	// A known state still in the dump's order stays so (fresh): the next
	// Apply puts it in desired order.
	a.remember(services, ops, changed)
	return Changes{Ops: ops}, nil
}

// load reads the kernel's state when the Applier has none.
func (a *Applier) load(ctx context.Context) error {
	if a.valid {
		return nil
	}
	cur, err := a.o.Dump(ctx)
	if err != nil {
		return err
	}
	a.known = make([]knownService, len(cur))
	a.idx = make(map[ServiceKey]int, len(cur))
	var dests []knownDest
	for i := range cur {
		setKnown(&a.known[i], &cur[i], &dests)
		a.idx[cur[i].Key()] = i
	}
	a.valid, a.fresh, a.dead = true, true, 0
	return nil
}

// reorder rebuilds the known state after the first Apply following a dump:
// copies of desired in its order, then the services left alone. idx, if
// not nil, maps each desired service's key to its position already (the
// streamed apply's check for services listed twice built it).
func (a *Applier) reorder(desired []Service, ops []Op, idx map[ServiceKey]int) {
	deleted := make(map[ServiceKey]struct{})
	for _, o := range ops {
		if o.Kind == OpDeleteService {
			deleted[o.Service.Key()] = struct{}{}
		}
	}
	// The copies come from two arrays, not two allocations per service:
	// at 10,000 services that is 20,000 objects fewer for the garbage
	// collector to trace for as long as the Applier lives, and the
	// destinations' array holds no pointer at all.
	n := 0
	for i := range desired {
		n += len(desired[i].Destinations)
	}
	kept := 0
	for j := range a.known {
		if a.known[j].live {
			kept++
		}
	}
	known := make([]knownService, len(desired), len(desired)+kept)
	built := idx != nil
	if !built {
		idx = make(map[ServiceKey]int, len(desired)+kept)
	}
	dests := make([]knownDest, 0, n)
	for i := range desired {
		setKnown(&known[i], &desired[i], &dests)
		if !built {
			idx[desired[i].Key()] = i
		}
	}
	for j := range a.known {
		s := &a.known[j]
		if !s.live {
			continue
		}
		k := s.svc.key
		if _, ok := idx[k]; ok {
			continue
		}
		if _, ok := deleted[k]; ok {
			continue
		}
		idx[k] = len(known)
		known = append(known, *s)
	}
	a.known, a.idx, a.dead, a.fresh = known, idx, 0, false
}

// remember updates the known state after ops succeeded: deleted services
// go, and the desired services that changed are copied in (copies, so the
// caller may reuse its slices).
func (a *Applier) remember(desired []Service, ops []Op, changed []int) {
	for _, o := range ops {
		if o.Kind != OpDeleteService {
			continue
		}
		k := o.Service.Key()
		if j, ok := a.idx[k]; ok {
			a.known[j] = knownService{}
			delete(a.idx, k)
			a.dead++
		}
	}
	// The changed services' destinations come from one array, and the
	// known services grow by doubling, so that services handed over in
	// chunks (a start) cost about what one Apply's copy does.
	n, added := 0, 0
	for _, i := range changed {
		n += len(desired[i].Destinations)
		if _, ok := a.idx[desired[i].Key()]; !ok {
			added++
		}
	}
	if need := len(a.known) + added; need > cap(a.known) {
		a.known = slices.Grow(a.known, max(need, 2*len(a.known))-len(a.known))
	}
	dests := make([]knownDest, 0, n)
	for _, i := range changed {
		s := &desired[i]
		k := s.Key()
		j, ok := a.idx[k]
		if !ok {
			j = len(a.known)
			a.idx[k] = j
			a.known = append(a.known, knownService{})
		}
		setKnown(&a.known[j], s, &dests)
	}
	if a.dead > 64 && a.dead > len(a.known)/2 {
		live := a.known[:0]
		for j := range a.known {
			if s := a.known[j]; s.live {
				a.idx[s.svc.key] = len(live)
				live = append(live, s)
			}
		}
		clear(a.known[len(live):])
		a.known, a.dead = live, 0
	}
}

// configSum fingerprints what Apply compares of a service: its settings
// and its destinations' settings, in order. The Applier keeps the sums of
// what it applied so that an unchanged service costs one hash, not a walk
// over two copies.
func configSum(s *Service) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	mix := func(v uint64) {
		h ^= v
		h *= prime
		h ^= h >> 29
	}
	for i := 0; i < len(s.Scheduler); i++ {
		mix(uint64(s.Scheduler[i]))
	}
	mix(uint64(len(s.Scheduler)))
	if s.Scheduler == "" {
		mix('w')
	}
	for i := 0; i < len(s.PersistenceEngine); i++ {
		mix(uint64(s.PersistenceEngine[i]))
	}
	mix(uint64(s.Flags&^FlagHashed)<<32 | uint64(s.netmask()))
	mix(uint64(s.Timeout / time.Second))
	for i := range s.Destinations {
		d := &s.Destinations[i]
		a := d.Addr.Addr().As16()
		mix(binary.LittleEndian.Uint64(a[:8]))
		mix(binary.LittleEndian.Uint64(a[8:]))
		mix(uint64(d.Addr.Port())<<48 | uint64(d.Forward)<<40 | uint64(d.TunnelType)<<32 | uint64(uint32(d.Weight)))
		mix(uint64(d.UpperThreshold)<<32 | uint64(d.LowerThreshold))
		mix(uint64(d.TunnelPort)<<16 | uint64(d.TunnelFlags) | uint64(familyOf(d.Addr.Addr()))<<32)
	}
	mix(uint64(len(s.Destinations)))
	return h
}
