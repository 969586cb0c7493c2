package sched

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"time"
)

// Protocol is a Key's IP protocol, with the IANA numbers (the values ipvs
// and fwmark use for their Protocol).
type Protocol uint8

// Protocols with ports. Only these have ports the sh and mh schedulers can
// hash (their port flags).
const (
	TCP  Protocol = 6
	UDP  Protocol = 17
	SCTP Protocol = 132
)

// String returns "tcp", "udp", "sctp" or the number.
func (p Protocol) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case SCTP:
		return "sctp"
	}
	return "protocol(" + strconv.Itoa(int(p)) + ")"
}

// Service flags understood by the hashing schedulers. The values are the
// kernel's IP_VS_SVC_F_SCHED1/2 bits, so a flag word read from the kernel
// (or given to ipvsadm as sh-fallback, sh-port, mh-fallback, mh-port) can be
// passed unchanged.
const (
	// FlagFallback makes sh and mh look further when the hashed destination
	// is unavailable (sh-fallback, mh-fallback).
	FlagFallback uint32 = 0x0008
	// FlagPort makes sh and mh hash the source port as well (sh-port,
	// mh-port).
	FlagPort uint32 = 0x0010
)

// Errors returned by Scheduler methods; test with errors.Is.
var (
	// ErrUnknownScheduler: New was given a name that is not a scheduler.
	ErrUnknownScheduler = errors.New("sched: unknown scheduler")
	// ErrExists: Add was given a destination that is already in the service
	// (the kernel's EEXIST).
	ErrExists = errors.New("sched: destination exists")
	// ErrNotFound: the destination is not in the service (ENOENT).
	ErrNotFound = errors.New("sched: no such destination")
	// ErrRange: a weight or threshold the kernel rejects (ERANGE/EINVAL).
	ErrRange = errors.New("sched: value out of range")
)

// Key describes the first packet of a new connection: everything a scheduler
// may look at. Src is the client, Dst the virtual address the client
// connected to (dh, lblc and lblcr hash Dst.Addr; sh and mh hash Src).
type Key struct {
	Proto Protocol
	Src   netip.AddrPort
	Dst   netip.AddrPort
}

// Dest is a real server as the scheduler sees it.
//
// Add and Edit read Addr, Weight, UpperThreshold and LowerThreshold; the
// connection counters and Overloaded are kept by the Scheduler (Bind,
// Unbind, Activate, Deactivate, SetConns) and reported by Dests.
type Dest struct {
	Addr netip.AddrPort
	// Weight is 0..math.MaxInt32; 0 quiesces the server (no new
	// connections).
	Weight int
	// UpperThreshold, when not 0, sets Overloaded once the server holds
	// that many connections; it clears again below LowerThreshold (or,
	// when that is 0, below three quarters of UpperThreshold).
	UpperThreshold uint32
	LowerThreshold uint32

	// ActiveConns and InactConns are the kernel's activeconns and
	// inactconns (totalconns minus activeconns).
	ActiveConns int
	InactConns  int
	// Overloaded is the kernel's IP_VS_DEST_F_OVERLOAD flag.
	Overloaded bool
}

// Config configures New. A nil *Config, and every zero field, means the
// kernel's defaults.
type Config struct {
	// Flags are the service's scheduler flags (FlagFallback, FlagPort).
	Flags uint32
	// Now is the time source lblc and lblcr use for their cache (last
	// use, expiry and the once-a-minute garbage collection); nil is
	// time.Now.
	Now func() time.Time
	// Rand is the random source twos draws from (the kernel's
	// get_random_u32), called twice per pick; nil is math/rand/v2, one
	// 64-bit number split into the two draws.
	Rand func() uint32
	// Expiration is the lblc/lblcr cache expiration, the kernel's
	// net.ipv4.vs.lblc_expiration / lblcr_expiration sysctl; zero is 24h.
	Expiration time.Duration
	// MHTableSize is the Maglev lookup table size: one of the kernel's
	// primes 251, 509, 1021, 2039, 4093 (zero: 4093,
	// CONFIG_IP_VS_MH_TAB_INDEX=12), 8191, 16381, 32749, 65521, 131071.
	MHTableSize int
}

// config is a Config with its defaults filled in.
type config struct {
	flags      uint32
	now        func() time.Time
	rand       func() uint32 // nil: math/rand/v2
	expiration time.Duration
	mhPrime    int
}

// names are the IPVS schedulers New accepts, in the kernel's spelling.
var names = [...]string{"rr", "wrr", "lc", "wlc", "sed", "nq", "fo", "ovf", "twos",
	"dh", "sh", "mh", "lblc", "lblcr"}

// Names lists every IPVS scheduler, in the kernel's spelling: the names New
// accepts. The slice is the caller's to keep or modify.
func Names() []string { return append([]string(nil), names[:]...) }

// Scheduler is one IPVS virtual service's destination list together with
// its scheduler state. It is not safe for concurrent use.
type Scheduler struct {
	name string
	cfg  config
	alg  algo

	head  dest // list sentinel; head.next is the first destination
	n     int
	byKey map[netip.AddrPort]*dest
	trash map[netip.AddrPort]*dest
	seq   uint64
	// underHalf counts destinations with 2*activeconns < weight, the
	// condition lblc and lblcr look for before leaving a loaded server.
	underHalf int
}

// dest is a destination in the service's list.
type dest struct {
	d          Dest
	total      int // kernel totalconns
	lastWeight int
	available  bool // IP_VS_DEST_CF_AVAILABLE
	seq        uint64
	slot       int // tournament tree leaf, -1 when none
	prev, next *dest
}

// algo is the per-scheduler part: the kernel's struct ip_vs_scheduler.
type algo interface {
	init(s *Scheduler)
	added(d *dest)
	removed(d *dest)
	updated(d *dest)
	// connsChanged is called after a destination's counters or overload
	// flag changed.
	connsChanged(d *dest)
	pick(k Key) *dest
}

// New returns a Scheduler running the named IPVS scheduler (rr, wrr, lc,
// wlc, sed, nq, fo, ovf, twos, dh, sh, mh, lblc, lblcr) over an empty
// destination list. c may be nil.
func New(name string, c *Config) (*Scheduler, error) {
	cfg := config{now: time.Now, expiration: 24 * time.Hour, mhPrime: 4093}
	if c != nil {
		cfg.flags = c.Flags
		if c.Now != nil {
			cfg.now = c.Now
		}
		if c.Rand != nil {
			cfg.rand = c.Rand
		}
		if c.Expiration != 0 {
			cfg.expiration = c.Expiration
		}
		if c.MHTableSize != 0 {
			cfg.mhPrime = c.MHTableSize
		}
	}
	s := &Scheduler{name: name, cfg: cfg, byKey: map[netip.AddrPort]*dest{}, trash: map[netip.AddrPort]*dest{}}
	s.head.next, s.head.prev = &s.head, &s.head
	switch name {
	case "rr":
		s.alg = &rrAlgo{}
	case "wrr":
		s.alg = &wrrAlgo{}
	case "lc", "wlc", "sed", "nq", "fo", "ovf":
		s.alg = newLeastAlgo(name)
	case "twos":
		s.alg = &twosAlgo{}
	case "dh":
		s.alg = &dhAlgo{}
	case "sh":
		s.alg = &shAlgo{}
	case "mh":
		if !isMHPrime(cfg.mhPrime) {
			return nil, fmt.Errorf("sched: mh table size %d: %w", cfg.mhPrime, ErrRange)
		}
		s.alg = &mhAlgo{}
	case "lblc":
		s.alg = &lblcAlgo{}
	case "lblcr":
		s.alg = &lblcrAlgo{}
	default:
		return nil, fmt.Errorf("%w %q", ErrUnknownScheduler, name)
	}
	s.alg.init(s)
	return s, nil
}

// Name returns the scheduler's name as given to New.
func (s *Scheduler) Name() string { return s.name }

// Len returns the number of destinations in the service.
func (s *Scheduler) Len() int { return s.n }

func validate(d Dest) error {
	if !d.Addr.IsValid() {
		return fmt.Errorf("sched: dest address %v: %w", d.Addr, ErrRange)
	}
	if d.Weight < 0 || d.Weight > math.MaxInt32 {
		return fmt.Errorf("sched: dest %v weight %d: %w", d.Addr, d.Weight, ErrRange)
	}
	if d.LowerThreshold > d.UpperThreshold {
		return fmt.Errorf("sched: dest %v lower threshold %d above upper %d: %w", d.Addr, d.LowerThreshold, d.UpperThreshold, ErrRange)
	}
	if d.UpperThreshold > math.MaxInt32 {
		return fmt.Errorf("sched: dest %v upper threshold %d: %w", d.Addr, d.UpperThreshold, ErrRange)
	}
	return nil
}

// Add adds a destination at the head of the list, as the kernel does, so
// the list runs from the newest destination to the oldest. A destination
// removed earlier comes back with the connections it still holds, like the
// kernel reviving it from its dest trash.
func (s *Scheduler) Add(d Dest) error {
	if err := validate(d); err != nil {
		return err
	}
	if _, ok := s.byKey[d.Addr]; ok {
		return fmt.Errorf("sched: add %v: %w", d.Addr, ErrExists)
	}
	x := s.trash[d.Addr]
	if x != nil {
		delete(s.trash, d.Addr)
	} else {
		x = &dest{slot: -1}
		x.d.Addr = d.Addr
	}
	s.update(x, d, true)
	s.seq++
	x.seq = s.seq
	// list_add_rcu: insert after the head.
	x.prev, x.next = &s.head, s.head.next
	s.head.next.prev = x
	s.head.next = x
	s.n++
	s.byKey[d.Addr] = x
	s.countHalf(x, +1)
	s.alg.added(x)
	return nil
}

// Edit changes a destination's weight and thresholds in place (its list
// position stays).
func (s *Scheduler) Edit(d Dest) error {
	if err := validate(d); err != nil {
		return err
	}
	x := s.byKey[d.Addr]
	if x == nil {
		return fmt.Errorf("sched: edit %v: %w", d.Addr, ErrNotFound)
	}
	s.countHalf(x, -1)
	s.update(x, d, false)
	s.countHalf(x, +1)
	s.alg.updated(x)
	return nil
}

// update is __ip_vs_update_dest without the list insertion.
func (s *Scheduler) update(x *dest, d Dest, add bool) {
	if add || d.Weight != 0 {
		x.lastWeight = d.Weight
	}
	x.d.Weight = d.Weight
	x.available = true
	if x.d.UpperThreshold != d.UpperThreshold || x.d.LowerThreshold != d.LowerThreshold {
		x.d.UpperThreshold = d.UpperThreshold
		x.d.LowerThreshold = d.LowerThreshold
		x.updateOverload(0)
	}
}

// Remove takes a destination out of the list.
func (s *Scheduler) Remove(addr netip.AddrPort) error {
	x := s.byKey[addr]
	if x == nil {
		return fmt.Errorf("sched: remove %v: %w", addr, ErrNotFound)
	}
	s.countHalf(x, -1)
	x.available = false
	delete(s.byKey, addr)
	// list_del_rcu keeps x.next valid; rr relies on that.
	x.prev.next = x.next
	x.next.prev = x.prev
	s.n--
	s.alg.removed(x)
	s.trash[addr] = x
	return nil
}

// Dests returns the destinations in the kernel's list order (newest first),
// the order /proc/net/ip_vs shows.
func (s *Scheduler) Dests() []Dest {
	out := make([]Dest, 0, s.n)
	for x := s.head.next; x != &s.head; x = x.next {
		out = append(out, x.view())
	}
	return out
}

// Dest returns one destination by address.
func (s *Scheduler) Dest(addr netip.AddrPort) (Dest, bool) {
	x := s.byKey[addr]
	if x == nil {
		return Dest{}, false
	}
	return x.view(), true
}

func (x *dest) view() Dest {
	v := x.d
	v.InactConns = max(x.total-x.d.ActiveConns, 0)
	return v
}

// Pick returns the destination the kernel would schedule a new connection
// described by k to, or false when it would find none ("no destination
// available"). Pick advances the scheduler's own state (rr and wrr
// position, lblc/lblcr cache) exactly as the kernel's schedule call does;
// it does not count a connection: call Bind (or use Connect) for that.
func (s *Scheduler) Pick(k Key) (netip.AddrPort, bool) {
	x := s.alg.pick(k)
	if x == nil {
		return netip.AddrPort{}, false
	}
	return x.d.Addr, true
}

// Connect picks a destination for k and binds a new connection to it,
// active (a TCP connection past its SYN) or inactive (UDP, for one).
func (s *Scheduler) Connect(k Key, active bool) (netip.AddrPort, bool) {
	x := s.alg.pick(k)
	if x == nil {
		return netip.AddrPort{}, false
	}
	s.bind(x, active)
	return x.d.Addr, true
}

func (s *Scheduler) lookupAny(addr netip.AddrPort) *dest {
	if x := s.byKey[addr]; x != nil {
		return x
	}
	return s.trash[addr]
}

// Bind counts a new connection on a destination (also one that was removed
// and still holds connections), as ip_vs_bind_dest does, updating the
// overload flag when the upper threshold is reached.
func (s *Scheduler) Bind(addr netip.AddrPort, active bool) error {
	x := s.lookupAny(addr)
	if x == nil {
		return fmt.Errorf("sched: bind %v: %w", addr, ErrNotFound)
	}
	s.bind(x, active)
	return nil
}

func (s *Scheduler) bind(x *dest, active bool) {
	s.countHalf(x, -1)
	if active {
		x.d.ActiveConns++
	}
	x.total++
	if x.d.UpperThreshold != 0 && x.total == int(x.d.UpperThreshold) {
		x.updateOverload(1)
	}
	s.countHalf(x, +1)
	s.changed(x)
}

// Unbind removes a connection from a destination, as ip_vs_unbind_dest
// does when a connection expires.
func (s *Scheduler) Unbind(addr netip.AddrPort, active bool) error {
	x := s.lookupAny(addr)
	if x == nil {
		return fmt.Errorf("sched: unbind %v: %w", addr, ErrNotFound)
	}
	if x.total == 0 || (active && x.d.ActiveConns == 0) || (!active && x.total == x.d.ActiveConns) {
		return fmt.Errorf("sched: unbind %v: no such connection: %w", addr, ErrRange)
	}
	s.countHalf(x, -1)
	if active {
		x.d.ActiveConns--
	}
	tc := x.total
	x.total--
	if tc == x.lowerVal() {
		x.updateOverload(-1)
	}
	s.countHalf(x, +1)
	s.changed(x)
	return nil
}

// Activate moves one connection from inactive to active (a TCP state change
// into an active state).
func (s *Scheduler) Activate(addr netip.AddrPort) error { return s.shift(addr, +1) }

// Deactivate moves one connection from active to inactive (for example a
// TCP connection entering FIN_WAIT or CLOSE).
func (s *Scheduler) Deactivate(addr netip.AddrPort) error { return s.shift(addr, -1) }

func (s *Scheduler) shift(addr netip.AddrPort, by int) error {
	x := s.lookupAny(addr)
	if x == nil {
		return fmt.Errorf("sched: %v: %w", addr, ErrNotFound)
	}
	if (by > 0 && x.d.ActiveConns >= x.total) || (by < 0 && x.d.ActiveConns == 0) {
		return fmt.Errorf("sched: %v: no such connection: %w", addr, ErrRange)
	}
	s.countHalf(x, -1)
	x.d.ActiveConns += by
	s.countHalf(x, +1)
	s.changed(x)
	return nil
}

// SetConns sets a destination's counters directly, for simulations that
// start from a known kernel state (ipvsadm -Ln shows both counts). The
// overload flag is re-evaluated as the kernel does when thresholds change.
func (s *Scheduler) SetConns(addr netip.AddrPort, active, inactive int) error {
	x := s.lookupAny(addr)
	if x == nil {
		return fmt.Errorf("sched: set conns %v: %w", addr, ErrNotFound)
	}
	if active < 0 || inactive < 0 || active > math.MaxInt32/512 || inactive > math.MaxInt32/512 {
		return fmt.Errorf("sched: set conns %v: %d/%d: %w", addr, active, inactive, ErrRange)
	}
	s.countHalf(x, -1)
	x.d.ActiveConns = active
	x.total = active + inactive
	x.updateOverload(0)
	s.countHalf(x, +1)
	s.changed(x)
	return nil
}

func (s *Scheduler) changed(x *dest) {
	if x.available {
		s.alg.connsChanged(x)
	}
}

func (s *Scheduler) countHalf(x *dest, by int) {
	if x.available && 2*x.d.ActiveConns < x.d.Weight {
		s.underHalf += by
	}
}

// lowerVal is the kernel's l_threshold_val.
func (x *dest) lowerVal() int {
	if x.d.LowerThreshold != 0 {
		return int(x.d.LowerThreshold)
	}
	u := int(x.d.UpperThreshold)
	return u - u>>2
}

// updateOverload is __ip_vs_dest_update_overload: mode > 0 after a
// connection reached the upper threshold, < 0 after one went below the
// lower, 0 when the thresholds changed.
func (x *dest) updateOverload(mode int) {
	u := int(x.d.UpperThreshold)
	if u == 0 {
		x.d.Overloaded = false
		return
	}
	l := x.lowerVal()
	conns := x.total
	lim := u
	if mode > 0 {
		lim = l
	}
	if conns >= lim {
		x.d.Overloaded = true
		return
	}
	lim = l
	if mode < 0 {
		lim = u
	}
	if conns >= lim {
		return
	}
	x.d.Overloaded = false
}

// overhead is ip_vs_dest_conn_overhead of Linux 6.1.x: activeconns*256 +
// totalconns.
func (x *dest) overhead() int64 {
	return int64(x.d.ActiveConns)<<8 + int64(x.total)
}

func (x *dest) usable() bool { return !x.d.Overloaded && x.d.Weight > 0 }
