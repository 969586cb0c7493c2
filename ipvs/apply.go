package ipvs

import (
	"context"
	"fmt"
	"net/netip"
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
	Ops []Op
}

// Len returns the number of operations.
func (c Changes) Len() int { return len(c.Ops) }

// Count returns the number of operations of kind k.
func (c Changes) Count(k OpKind) int {
	n := 0
	for _, o := range c.Ops {
		if o.Kind == k {
			n++
		}
	}
	return n
}

// ApplyOption changes how Apply treats services that are not desired.
type ApplyOption func(*applyOptions)

type applyOptions struct {
	managed func(ServiceKey) bool
}

// KeepUnlisted leaves every service that is not in the desired set alone,
// instead of deleting it.
func KeepUnlisted() ApplyOption {
	return func(o *applyOptions) { o.managed = func(ServiceKey) bool { return false } }
}

// Managed limits deletion to services for which managed returns true;
// other services missing from the desired set are left alone.
func Managed(managed func(ServiceKey) bool) ApplyOption {
	return func(o *applyOptions) { o.managed = managed }
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
func ApplyTo(ctx context.Context, o Ops, desired []Service, opts ...ApplyOption) (Changes, error) {
	current, err := o.Dump(ctx)
	if err != nil {
		return Changes{}, err
	}
	ops, err := Diff(current, desired, opts...)
	if err != nil {
		return Changes{}, err
	}
	if len(ops) == 0 {
		return Changes{}, nil
	}
	return Changes{Ops: ops}, o.Do(ctx, ops)
}

// Diff computes the operations that turn current into desired: services
// missing from desired are deleted (subject to the options), new ones are
// added with their destinations, changed settings are updates (a weight
// change is one destination update, never a delete and add), and nothing is
// issued for what already matches, so Diff(x, x) is empty. Deletions of
// services come first; then, service by service in desired order, the
// service's own change, destination deletions, updates and additions.
func Diff(current, desired []Service, opts ...ApplyOption) ([]Op, error) {
	var o applyOptions
	for _, opt := range opts {
		opt(&o)
	}
	cur := make(map[ServiceKey]*Service, len(current))
	for i := range current {
		cur[current[i].Key()] = &current[i]
	}
	want := make(map[ServiceKey]struct{}, len(desired))
	for i := range desired {
		s := &desired[i]
		if err := s.Validate(); err != nil {
			return nil, err
		}
		k := s.Key()
		if _, dup := want[k]; dup {
			return nil, fmt.Errorf("%w: service %v listed twice", ErrInvalid, k)
		}
		want[k] = struct{}{}
		if err := checkDests(s); err != nil {
			return nil, err
		}
	}
	var ops []Op
	for i := range current {
		k := current[i].Key()
		if _, ok := want[k]; ok {
			continue
		}
		if o.managed != nil && !o.managed(k) {
			continue
		}
		ops = append(ops, Op{Kind: OpDeleteService, Service: bare(&current[i])})
	}
	for i := range desired {
		ops = diffService(ops, cur[desired[i].Key()], &desired[i])
	}
	return ops, nil
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

// diffService appends the operations that turn cur (nil: absent) into want.
func diffService(ops []Op, cur, want *Service) []Op {
	svc := bare(want)
	if cur == nil {
		ops = append(ops, Op{Kind: OpNewService, Service: svc})
		for i := range want.Destinations {
			ops = append(ops, Op{Kind: OpNewDestination, Service: svc, Destination: destConfig(&want.Destinations[i])})
		}
		return ops
	}
	if !sameServiceConfig(cur, want) {
		ops = append(ops, Op{Kind: OpUpdateService, Service: svc})
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
	return append(ops, adds...)
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
	known []Service
	valid bool
}

// NewApplier returns an Applier working through o (usually a *Client).
func NewApplier(o Ops) *Applier { return &Applier{o: o} }

// Resync makes the next Apply read the kernel's state again.
func (a *Applier) Resync() { a.valid = false; a.known = nil }

// Apply makes the kernel match desired, like ApplyTo, but diffs against the
// remembered state when it has one.
func (a *Applier) Apply(ctx context.Context, desired []Service, opts ...ApplyOption) (Changes, error) {
	if !a.valid {
		cur, err := a.o.Dump(ctx)
		if err != nil {
			return Changes{}, err
		}
		a.known, a.valid = cur, true
	}
	ops, err := Diff(a.known, desired, opts...)
	if err != nil {
		return Changes{}, err
	}
	if len(ops) == 0 {
		return Changes{}, nil
	}
	if err := a.o.Do(ctx, ops); err != nil {
		a.Resync()
		return Changes{Ops: ops}, err
	}
	a.known = afterApply(a.known, desired, ops)
	return Changes{Ops: ops}, nil
}

// afterApply returns the state after ops succeeded: desired, plus the
// services of known that were left alone.
func afterApply(known, desired []Service, ops []Op) []Service {
	deleted := make(map[ServiceKey]struct{})
	for _, o := range ops {
		if o.Kind == OpDeleteService {
			deleted[o.Service.Key()] = struct{}{}
		}
	}
	want := make(map[ServiceKey]struct{}, len(desired))
	out := make([]Service, 0, len(desired))
	for i := range desired {
		want[desired[i].Key()] = struct{}{}
		s := desired[i]
		s.Destinations = append([]Destination(nil), desired[i].Destinations...)
		out = append(out, s)
	}
	for i := range known {
		k := known[i].Key()
		if _, ok := want[k]; ok {
			continue
		}
		if _, ok := deleted[k]; ok {
			continue
		}
		out = append(out, known[i])
	}
	return out
}
