package ipvs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Client talks to the kernel's IPVS over generic netlink. It is safe for
// concurrent use; calls take turns on a main socket, each pipelining its
// own requests, and Dump's destination dumps run on sockets of their own.
type Client struct {
	// c carries everything but destination dumps. Its receive slots are
	// large, so that the services dump, which the kernel walks from the
	// start again for every part, comes in few parts.
	c *conn
	// dumpers run destination dumps, with page-sized slots (see
	// dumpSlotBytes): one, or on a machine with more than one CPU up to
	// maxDumpers, so that Dump runs several dumps at once (a socket runs
	// one dump at a time).
	dumpers []*conn
	once    sync.Once
}

// Config configures Dial. A nil *Config and the zero value mean the
// caller's network namespace.
type Config struct {
	// NetNS is the path of a network namespace file the client works in,
	// such as "/run/netns/lb" or "/proc/1234/ns/net"; empty means the
	// caller's namespace. The file is open only while Dial runs: the
	// sockets stay in the namespace.
	NetNS string
}

// Dial opens a client. It fails with ErrNotSupported when the kernel has no
// IPVS (or the system is not Linux).
func Dial(ctx context.Context, cfg *Config) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	netns := 0
	if cfg != nil && cfg.NetNS != "" {
		f, err := os.Open(cfg.NetNS)
		if err != nil {
			return nil, fmt.Errorf("ipvs: network namespace: %w", err)
		}
		// The sockets live in the namespace once dialled; the file is
		// not needed after.
		defer f.Close()
		netns = int(f.Fd())
	}
	return dial(ctx, netns, dumpers(runtime.GOMAXPROCS(0)))
}

// maxDumpers bounds the sockets Dump uses at once: the kernel serialises
// the part of each dump that reads IPVS's tables (under the generic
// netlink and IPVS mutexes), so more sockets only overlap the rest.
const maxDumpers = 4

// dumpers is how many destination-dump sockets suit procs CPUs: one on a
// single CPU, where more would only take turns; else two per CPU, so that
// one socket's dump can proceed while another's waits for the kernel's
// mutexes (measured in a 2-CPU guest: 5,000 services dumped 1.5 to 2
// times as fast as with one socket).
func dumpers(procs int) int {
	if procs <= 1 {
		return 1
	}
	return min(2*procs, maxDumpers)
}

// maxSlotBytes is a receive slot that holds any datagram: the kernel caps
// the parts of a dump at 32 KiB less its overhead.
const maxSlotBytes = 32 << 10

// dial opens a client with n sockets for destination dumps.
func dial(ctx context.Context, netns, n int) (*Client, error) {
	c, err := dialConnSlot(ctx, netns, maxSlotBytes)
	if err != nil {
		return nil, err
	}
	cl := &Client{c: c}
	for i := 0; i < max(n, 1); i++ {
		d, err := c.sibling(netns)
		if err != nil {
			cl.Close()
			return nil, err
		}
		cl.dumpers = append(cl.dumpers, d)
	}
	return cl, nil
}

// Close releases the sockets.
func (c *Client) Close() error {
	var err error
	c.once.Do(func() {
		err = c.c.close()
		for _, d := range c.dumpers {
			d.close()
		}
	})
	return err
}

// do runs one request and turns its failure into an *OpError.
func (c *Client) do(ctx context.Context, r *request, svc *Service, dst *Destination) error {
	if err := c.c.run(ctx, []*request{r}); err != nil {
		return err
	}
	return opError(r, svc, dst)
}

func opError(r *request, svc *Service, dst *Destination) error {
	if r.err == nil {
		return nil
	}
	e := &OpError{Op: cmdName[r.cmd], Err: r.err}
	if svc != nil {
		k := svc.Key()
		e.Service = &k
	}
	if dst != nil {
		d := *dst
		e.Destination = &d
	}
	return e
}

// Info returns the IPVS version and connection table size.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var info Info
	r := &request{cmd: cmdGetInfo, reply: func(b []byte) (err error) {
		info, err = decodeInfo(b)
		return err
	}}
	return info, c.do(ctx, r, nil, nil)
}

// Services returns every virtual service (without destinations), with one
// multipart dump.
func (c *Client) Services(ctx context.Context) ([]Service, error) {
	var out []Service
	r := &request{cmd: cmdGetService, dump: true, reply: func(b []byte) error {
		s, err := decodeServiceMsg(b)
		if err != nil {
			return err
		}
		out = append(out, s)
		return nil
	}, reset: func() { out = out[:0] }}
	return out, c.do(ctx, r, nil, nil)
}

// Service returns the service identified by key's Family, Protocol, Addr
// and FWMark (other fields are ignored), or an error wrapping ErrNotFound.
func (c *Client) Service(ctx context.Context, key Service) (Service, error) {
	attrs, err := serviceAttrs(&key, false)
	if err != nil {
		return Service{}, err
	}
	var s Service
	r := &request{cmd: cmdGetService, attrs: attrs, reply: func(b []byte) (err error) {
		s, err = decodeServiceMsg(b)
		return err
	}}
	return s, c.do(ctx, r, &key, nil)
}

// Destinations returns the destinations of svc (identified as in Service).
// A service that does not exist has no destinations.
func (c *Client) Destinations(ctx context.Context, svc Service) ([]Destination, error) {
	all := []Service{svc}
	if err := c.fillDestinations(ctx, all); err != nil {
		return nil, err
	}
	return all[0].Destinations, nil
}

// Dump returns every service with its destinations: one dump for the
// services, then one destination dump per service (the kernel has no
// other way to list destinations), on as many sockets as suit the CPUs.
func (c *Client) Dump(ctx context.Context) ([]Service, error) {
	svcs, err := c.Services(ctx)
	if err != nil {
		return nil, err
	}
	return svcs, c.fillDestinations(ctx, svcs)
}

// fillDestinations dumps the destinations of every service, one dump per
// service (a netlink socket runs one dump at a time), a chunk of services
// per call into a conn. With more than one socket, each takes the next
// chunk as it finishes one.
func (c *Client) fillDestinations(ctx context.Context, svcs []Service) error {
	chunks := (len(svcs) + dumpChunk - 1) / dumpChunk
	conns := c.dumpers
	if len(conns) == 0 {
		conns = []*conn{c.c}
	}
	conns = conns[:max(1, min(len(conns), chunks))]
	errs := make([][]error, chunks) // per chunk, to report in order
	var (
		next   atomic.Int64
		mu     sync.Mutex
		runErr error // the first exchange that failed
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, cn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := newDestDumper(cn)
			for {
				k := int(next.Add(1)) - 1
				if k >= chunks {
					return
				}
				start := k * dumpChunk
				if err := d.dump(ctx, svcs[start:min(start+dumpChunk, len(svcs))], &errs[k]); err != nil {
					mu.Lock()
					if runErr == nil {
						runErr = err
					}
					mu.Unlock()
					cancel() // the others stop too
					return
				}
			}
		}()
	}
	wg.Wait()
	if runErr != nil {
		return runErr
	}
	var all []error
	for _, e := range errs {
		all = append(all, e...)
	}
	return errors.Join(all...)
}

// dumpChunk is how many services a destDumper handles per call.
const dumpChunk = 256

// destDumper dumps the destinations of services a chunk at a time. It
// reuses its requests from chunk to chunk, and each chunk's destinations
// share one backing array sized from the average so far, each service
// getting a slice of it that cannot grow into its neighbour's: a Dump of
// 10,000 services allocates a few hundred times, not tens of thousands.
type destDumper struct {
	c     *conn
	rs    [dumpChunk]request
	reqs  [dumpChunk]*request
	fams  [dumpChunk]Family
	spans [dumpChunk][2]int // of each service's destinations in arena
	keys  []byte
	arena []Destination
	// svcs and dests count what was dumped so far, for the estimate.
	svcs, dests int
}

func newDestDumper(c *conn) *destDumper {
	d := &destDumper{c: c, keys: make([]byte, 0, dumpChunk*serviceIDAttrsLen)}
	for j := range d.rs {
		span := &d.spans[j]
		d.reqs[j] = &d.rs[j]
		d.rs[j].reply = func(b []byte) error {
			if span[0] == span[1] {
				span[0] = len(d.arena)
			}
			d.arena = append(d.arena, Destination{})
			if err := decodeDestMsgInto(b, d.fams[j], &d.arena[len(d.arena)-1]); err != nil {
				d.arena = d.arena[:len(d.arena)-1]
				return err
			}
			span[1] = len(d.arena)
			return nil
		}
		d.rs[j].reset = func() { span[0], span[1] = 0, 0 }
	}
	return d
}

// dump fills the Destinations of chunk (at most dumpChunk services),
// appending per-service failures to errs; its error means the exchange
// with the kernel failed.
func (d *destDumper) dump(ctx context.Context, chunk []Service, errs *[]error) error {
	d.keys = d.keys[:0]
	var offs [dumpChunk + 1]int
	for j := range chunk {
		d.keys = appendServiceIDAttrs(d.keys, &chunk[j])
		offs[j+1] = len(d.keys)
		d.fams[j] = chunk[j].Key().Family
		d.spans[j] = [2]int{}
	}
	for j := range chunk {
		r := &d.rs[j]
		*r = request{cmd: cmdGetDest, dump: true, attrs: d.keys[offs[j]:offs[j+1]], reply: r.reply, reset: r.reset}
	}
	avg := 4
	if d.svcs > 0 {
		avg = (d.dests + d.svcs - 1) / d.svcs
	}
	d.arena = make([]Destination, 0, len(chunk)*avg+16)
	if err := d.c.run(ctx, d.reqs[:len(chunk)]); err != nil {
		return err
	}
	for j := range chunk {
		sp := d.spans[j]
		chunk[j].Destinations = nil
		if sp[0] < sp[1] {
			chunk[j].Destinations = d.arena[sp[0]:sp[1]:sp[1]]
		}
		if err := opError(&d.rs[j], &chunk[j], nil); err != nil {
			*errs = append(*errs, err)
		}
	}
	d.svcs += len(chunk)
	d.dests += len(d.arena)
	return nil
}

// NewService creates s (its Destinations are not added; see Apply).
func (c *Client) NewService(ctx context.Context, s Service) error {
	return c.Do(ctx, []Op{{Kind: OpNewService, Service: s}})
}

// UpdateService changes the scheduler, flags, persistence and persistence
// engine of the existing service s.
func (c *Client) UpdateService(ctx context.Context, s Service) error {
	return c.Do(ctx, []Op{{Kind: OpUpdateService, Service: s}})
}

// DeleteService removes the service s and its destinations.
func (c *Client) DeleteService(ctx context.Context, s Service) error {
	return c.Do(ctx, []Op{{Kind: OpDeleteService, Service: s}})
}

// NewDestination adds d to service s.
func (c *Client) NewDestination(ctx context.Context, s Service, d Destination) error {
	return c.Do(ctx, []Op{{Kind: OpNewDestination, Service: s, Destination: d}})
}

// UpdateDestination changes the forwarding method, weight, thresholds and
// tunnel settings of the existing destination d of s.
func (c *Client) UpdateDestination(ctx context.Context, s Service, d Destination) error {
	return c.Do(ctx, []Op{{Kind: OpUpdateDestination, Service: s, Destination: d}})
}

// DeleteDestination removes d from s.
func (c *Client) DeleteDestination(ctx context.Context, s Service, d Destination) error {
	return c.Do(ctx, []Op{{Kind: OpDeleteDestination, Service: s, Destination: d}})
}

// Flush removes every service and destination.
func (c *Client) Flush(ctx context.Context) error {
	return c.do(ctx, &request{cmd: cmdFlush}, nil, nil)
}

// Zero resets the counters of every service and destination.
func (c *Client) Zero(ctx context.Context) error {
	return c.do(ctx, &request{cmd: cmdZero}, nil, nil)
}

// ZeroService resets the counters of one service and its destinations.
func (c *Client) ZeroService(ctx context.Context, s Service) error {
	attrs, err := serviceAttrs(&s, false)
	if err != nil {
		return err
	}
	return c.do(ctx, &request{cmd: cmdZero, attrs: attrs}, &s, nil)
}

// Timeouts returns the TCP, TCP FIN and UDP timeouts.
func (c *Client) Timeouts(ctx context.Context) (Timeouts, error) {
	var t Timeouts
	r := &request{cmd: cmdGetConfig, reply: func(b []byte) (err error) {
		t, err = decodeTimeouts(b)
		return err
	}}
	return t, c.do(ctx, r, nil, nil)
}

// SetTimeouts sets the timeouts; zero fields stay unchanged.
func (c *Client) SetTimeouts(ctx context.Context, t Timeouts) error {
	attrs, err := timeoutAttrs(t)
	if err != nil {
		return err
	}
	return c.do(ctx, &request{cmd: cmdSetConfig, attrs: attrs}, nil, nil)
}

// Daemons returns the running sync daemons (none, master, backup or both).
func (c *Client) Daemons(ctx context.Context) ([]Daemon, error) {
	var out []Daemon
	r := &request{cmd: cmdGetDaemon, dump: true, reply: func(b []byte) error {
		d, err := decodeDaemonMsg(b)
		if err != nil {
			return err
		}
		out = append(out, d)
		return nil
	}, reset: func() { out = out[:0] }}
	return out, c.do(ctx, r, nil, nil)
}

// StartDaemon starts a connection-sync daemon.
func (c *Client) StartDaemon(ctx context.Context, d Daemon) error {
	if d.State != Master && d.State != Backup {
		return fmt.Errorf("%w: daemon state %v", ErrInvalid, d.State)
	}
	attrs, err := daemonAttrs(&d, true)
	if err != nil {
		return err
	}
	return c.do(ctx, &request{cmd: cmdNewDaemon, attrs: attrs}, nil, nil)
}

// StopDaemon stops the sync daemon in the given role.
func (c *Client) StopDaemon(ctx context.Context, state DaemonState) error {
	attrs, err := daemonAttrs(&Daemon{State: state}, false)
	if err != nil {
		return err
	}
	return c.do(ctx, &request{cmd: cmdDelDaemon, attrs: attrs}, nil, nil)
}

// Do runs the operations in order, pipelined (many per system call). It
// runs all of them even when some fail, and returns the failures joined, each
// an *OpError.
func (c *Client) Do(ctx context.Context, ops []Op) error {
	sc := doPool.Get().(*doScratch)
	defer sc.put()
	sc.reqs = slices.Grow(sc.reqs[:0], len(ops))[:len(ops)]
	sc.ptrs = slices.Grow(sc.ptrs[:0], len(ops))
	sc.idx = slices.Grow(sc.idx[:0], len(ops))
	sc.buf = slices.Grow(sc.buf[:0], 160*len(ops))
	var errs []error
	for i := range ops {
		r := &sc.reqs[i]
		var err error
		if sc.buf, err = ops[i].encode(r, sc.buf); err != nil {
			errs = append(errs, err)
			continue
		}
		sc.ptrs = append(sc.ptrs, r)
		sc.idx = append(sc.idx, i)
	}
	if len(sc.ptrs) > 0 {
		if err := c.c.run(ctx, sc.ptrs); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	for j, r := range sc.ptrs {
		op := &ops[sc.idx[j]]
		var dst *Destination
		if op.Kind >= OpNewDestination {
			dst = &op.Destination
		}
		if err := opError(r, &op.Service, dst); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// doScratch is what Do encodes a call's requests into. It is pooled, so
// that a streamed first apply (50,000 operations at 10,000 services × 4,
// handed over 1,024 at a time) reuses the same few hundred kilobytes
// instead of allocating a request and its attributes per operation, 13 MB
// of garbage that made the start's heap, and so its peak RSS, grow.
type doScratch struct {
	reqs []request
	ptrs []*request
	idx  []int
	buf  []byte
}

var doPool = sync.Pool{New: func() any { return new(doScratch) }}

// put forgets the call's requests (their replies and errors) and returns
// sc to the pool, unless it grew past a streamed batch's size.
func (sc *doScratch) put() {
	if cap(sc.reqs) > 4096 || cap(sc.buf) > 1<<20 {
		return
	}
	clear(sc.reqs)
	clear(sc.ptrs[:cap(sc.ptrs)])
	sc.reqs, sc.ptrs, sc.idx, sc.buf = sc.reqs[:0], sc.ptrs[:0], sc.idx[:0], sc.buf[:0]
	doPool.Put(sc)
}

// encode writes the operation's request into r, its attributes appended
// to buf (r.attrs is their part of the result), validating what it
// writes.
func (op *Op) encode(r *request, buf []byte) ([]byte, error) {
	var cmd uint8
	s, d := &op.Service, &op.Destination
	start := len(buf)
	switch op.Kind {
	case OpNewService, OpUpdateService:
		if err := s.Validate(); err != nil {
			return buf, err
		}
		cmd = cmdNewService
		if op.Kind == OpUpdateService {
			cmd = cmdSetService
		}
		buf = appendServiceAttrs(buf, s)
	case OpDeleteService:
		cmd = cmdDelService
		buf = appendServiceIDAttrs(buf, s)
	case OpNewDestination, OpUpdateDestination:
		if err := d.Validate(); err != nil {
			return buf, err
		}
		cmd = cmdNewDest
		if op.Kind == OpUpdateDestination {
			cmd = cmdSetDest
		}
		buf = appendDestAttrs(buf, s, d, true)
	case OpDeleteDestination:
		cmd = cmdDelDest
		buf = appendDestAttrs(buf, s, d, false)
	default:
		return buf, fmt.Errorf("%w: operation kind %d", ErrInvalid, op.Kind)
	}
	// Capped, so that the next request's attributes, appended after,
	// cannot be written over these.
	r.cmd, r.attrs = cmd, buf[start:len(buf):len(buf)]
	return buf, nil
}

// Apply makes the kernel's services match desired with the fewest
// operations; see ApplyTo.
func (c *Client) Apply(ctx context.Context, desired []Service, cfg *ApplyConfig) (Changes, error) {
	return ApplyTo(ctx, c, desired, cfg)
}
