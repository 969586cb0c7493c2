package check

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// Errors of the BFD manager.
var (
	ErrBFDExists   = errors.New("check: bfd: session exists")
	ErrBFDNotFound = errors.New("check: bfd: session not found")
	ErrBFDClosed   = errors.New("check: bfd: manager closed")
)

// BFDManagerConfig configures a BFDManager. The zero value works.
type BFDManagerConfig struct {
	// NetNS is the path of the network namespace the sockets live in;
	// empty means the caller's.
	NetNS string
	// Logger receives transitions and I/O errors; nil discards.
	Logger *slog.Logger
	// OnTransition is called for every state change, one at a time and
	// in the order they happened. It runs on the manager's goroutines and
	// must not block; it may read sessions (Session, Sessions) but must not
	// call Add, Update or Remove.
	OnTransition func(BFDTransition)
}

// BFDTransition is a session's change of state.
type BFDTransition struct {
	Name     string
	Peer     netip.Addr
	From, To BFDState
	// Diag is the local diagnostic after the change: why a session left
	// Up (control detection time expired, neighbor signaled down, ...).
	Diag BFDDiag
	At   time.Time
}

// BFDCounters count one session's packets and transitions.
type BFDCounters struct {
	PacketsIn  uint64 // valid packets applied to the session
	PacketsOut uint64
	Discarded  uint64 // packets for this session that RFC 5880/5881 discard (TTL, auth, discriminator)
	SendErrors uint64
	Ups, Downs uint64 // transitions into Up, and out of Up
}

// BFDSessionStatus is a snapshot of one session.
type BFDSessionStatus struct {
	Name                string
	Config              BFDSessionConfig // with defaults filled in
	State, RemoteState  BFDState
	Diag                BFDDiag
	LocalDiscriminator  uint32
	RemoteDiscriminator uint32
	TxInterval          time.Duration // negotiated, before jitter
	DetectionTime       time.Duration // negotiated
	// LastRx is when the last valid packet arrived (zero: none yet).
	LastRx   time.Time
	Counters BFDCounters
}

// BFDManagerCounters count packets that matched no session.
type BFDManagerCounters struct {
	Malformed uint64 // failed to decode
	Unmatched uint64 // no session for the discriminator or address
}

// BFDManager runs BFD sessions: one timer loop and one receive socket per
// family and port serve every session; each session sends from its own
// UDP source port (RFC 5881 §4). Sessions can be added, updated and
// removed while it runs.
type BFDManager struct {
	cfg BFDManagerConfig
	log *slog.Logger

	mu        sync.Mutex
	dmu       sync.Mutex // orders OnTransition calls
	sessions  map[string]*bfdSession
	byDiscr   map[uint32]*bfdSession
	byPeer    map[bfdPeerKey]*bfdSession
	due       bfdHeap
	listeners [4]bfdListener
	running   bool
	closed    bool
	stop      chan struct{}
	wake      chan struct{}
	wg        sync.WaitGroup
	counters  BFDManagerCounters
	rnd       *rand.Rand
}

// bfdPeerKey finds the session of a packet that does not name our
// discriminator: by source, destination (zero for a session without
// Local) and port.
type bfdPeerKey struct {
	peer, local netip.Addr
	multihop    bool
}

type bfdSession struct {
	name   string
	m      *BFDMachine
	sender bfdSender
	dst    netip.AddrPort
	last   BFDState
	due    time.Time
	index  int
	lastRx time.Time
	c      BFDCounters
	buf    []byte
}

// NewBFDManager returns a manager; cfg may be nil. It starts nothing.
func NewBFDManager(cfg *BFDManagerConfig) *BFDManager {
	m := &BFDManager{
		sessions: map[string]*bfdSession{},
		byDiscr:  map[uint32]*bfdSession{},
		byPeer:   map[bfdPeerKey]*bfdSession{},
		stop:     make(chan struct{}),
		wake:     make(chan struct{}, 1),
		rnd:      rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	if cfg != nil {
		m.cfg = *cfg
	}
	m.log = m.cfg.Logger
	if m.log == nil {
		m.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return m
}

func listenerIndex(c *BFDSessionConfig) int {
	i := 0
	if c.Peer.Unmap().Is6() {
		i = 2
	}
	if c.Multihop {
		i++
	}
	return i
}

// Add starts a session named name. Only one session may exist per peer
// address, local address (or none) and kind (single-hop or multihop).
func (m *BFDManager) Add(name string, cfg BFDSessionConfig) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	cfg.Peer = cfg.Peer.Unmap()
	cfg.Local = cfg.Local.Unmap()
	cfg.Password = append([]byte(nil), cfg.Password...)
	key := bfdPeerKey{cfg.Peer, cfg.Local, cfg.Multihop}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrBFDClosed
	}
	if _, ok := m.sessions[name]; ok {
		return fmt.Errorf("%w: %q", ErrBFDExists, name)
	}
	if o, ok := m.byPeer[key]; ok {
		return fmt.Errorf("%w: %q already runs to %s", ErrBFDExists, o.name, cfg.Peer)
	}
	var discr uint32
	for discr == 0 || m.byDiscr[discr] != nil {
		discr = m.rnd.Uint32()
	}
	now := time.Now()
	mc, err := NewBFDMachine(&cfg, discr, now, m.rnd.Uint64())
	if err != nil {
		return err
	}
	snd, err := openBFDSender(m.cfg.NetNS, &mc.cfg)
	if err != nil {
		return fmt.Errorf("check: bfd: session %q: %w", name, err)
	}
	port := uint16(BFDPort)
	if cfg.Multihop {
		port = BFDMultihopPort
	}
	s := &bfdSession{name: name, m: mc, sender: snd, last: mc.State(), dst: netip.AddrPortFrom(cfg.Peer, port), buf: make([]byte, 0, 64)}
	if m.running {
		if err := m.listenLocked(listenerIndex(&cfg)); err != nil {
			snd.close()
			return err
		}
	}
	m.sessions[name] = s
	m.byDiscr[discr] = s
	m.byPeer[key] = s
	s.due = mc.Deadline()
	heap.Push(&m.due, s)
	m.kick()
	return nil
}

// Update changes a session's timers, multiplier, passive flag or admin
// state; changing its addressing or authentication is an error (Remove
// and Add it instead). Timer changes on an Up session run a poll sequence.
func (m *BFDManager) Update(name string, cfg BFDSessionConfig) error {
	m.mu.Lock()
	s, ok := m.sessions[name]
	if !ok {
		m.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrBFDNotFound, name)
	}
	cfg.Peer, cfg.Local = cfg.Peer.Unmap(), cfg.Local.Unmap()
	now := time.Now()
	if _, err := s.m.Update(now, &cfg); err != nil {
		m.mu.Unlock()
		return err
	}
	var trs []BFDTransition
	m.serviceLocked(s, now, &trs)
	m.kick()
	m.deliverUnlock(trs)
	return nil
}

// Remove stops a session. It first sends one AdminDown packet, so that
// the peer reports the session administratively down rather than failed.
func (m *BFDManager) Remove(name string) error {
	m.mu.Lock()
	s, ok := m.sessions[name]
	if !ok {
		m.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrBFDNotFound, name)
	}
	now := time.Now()
	cfg := s.m.cfg
	cfg.AdminDown = true
	var trs []BFDTransition
	if _, err := s.m.Update(now, &cfg); err == nil {
		m.serviceLocked(s, now, &trs)
	}
	m.dropLocked(s)
	m.deliverUnlock(trs)
	return nil
}

func (m *BFDManager) dropLocked(s *bfdSession) {
	s.sender.close()
	delete(m.sessions, s.name)
	delete(m.byDiscr, s.m.local)
	delete(m.byPeer, bfdPeerKey{s.m.cfg.Peer, s.m.cfg.Local, s.m.cfg.Multihop})
	if s.index >= 0 {
		heap.Remove(&m.due, s.index)
	}
}

// Session returns a snapshot of the named session.
func (m *BFDManager) Session(name string) (BFDSessionStatus, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[name]
	if !ok {
		return BFDSessionStatus{}, false
	}
	return s.status(), true
}

// Sessions returns snapshots of every session, in no particular order.
func (m *BFDManager) Sessions() []BFDSessionStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]BFDSessionStatus, 0, len(m.sessions))
	for _, s := range m.sessions {
		out = append(out, s.status())
	}
	return out
}

// Counters returns the counts of packets that reached no session.
func (m *BFDManager) Counters() BFDManagerCounters {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counters
}

func (s *bfdSession) status() BFDSessionStatus {
	return BFDSessionStatus{
		Name: s.name, Config: s.m.cfg, State: s.m.State(), RemoteState: s.m.RemoteState(), Diag: s.m.Diag(),
		LocalDiscriminator: s.m.local, RemoteDiscriminator: s.m.remote,
		TxInterval: s.m.TxInterval(), DetectionTime: s.m.DetectionTime(), LastRx: s.lastRx, Counters: s.c,
	}
}

// Run opens the receive sockets the sessions need and runs every
// session's timers until ctx is done or Close is called.
func (m *BFDManager) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrBFDClosed
	}
	if m.running {
		m.mu.Unlock()
		return errors.New("check: bfd: manager already running")
	}
	m.running = true
	for _, s := range m.sessions {
		if err := m.listenLocked(listenerIndex(&s.m.cfg)); err != nil {
			m.running = false
			m.closeListenersLocked()
			m.mu.Unlock()
			return err
		}
	}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.running = false
		m.closeListenersLocked()
		m.mu.Unlock()
		m.wg.Wait()
	}()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var trs []BFDTransition
	for {
		m.mu.Lock()
		now := time.Now()
		for m.due.Len() > 0 && !m.due[0].due.After(now) {
			m.serviceLocked(m.due[0], now, &trs)
		}
		wait := time.Hour
		if m.due.Len() > 0 {
			wait = m.due[0].due.Sub(now)
		}
		m.deliverUnlock(trs)
		trs = trs[:0]
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-m.stop:
			return nil
		case <-m.wake:
		case <-t.C:
		}
	}
}

// kick wakes the timer loop to look at a changed deadline.
func (m *BFDManager) kick() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// serviceLocked runs a session's timers at now, sends what is due and
// files its next deadline.
func (m *BFDManager) serviceLocked(s *bfdSession, now time.Time, trs *[]BFDTransition) {
	var pk BFDPacket
	for range 4 { // bounded: at most a Final and a periodic packet are due
		send, _ := s.m.Advance(now, &pk)
		m.noteLocked(s, now, trs)
		if !send {
			break
		}
		b, err := pk.AppendTo(s.buf[:0])
		if err == nil {
			err = s.sender.send(b, s.dst)
		}
		if err != nil {
			s.c.SendErrors++
			if s.c.SendErrors&(s.c.SendErrors-1) == 0 { // log 1, 2, 4, 8, ... errors
				m.log.Warn("bfd send", "session", s.name, "peer", s.dst, "err", err, "errors", s.c.SendErrors)
			}
		} else {
			s.c.PacketsOut++
		}
	}
	d := s.m.Deadline()
	if d.IsZero() {
		d = now.Add(time.Hour)
	} else if !d.After(now) {
		d = now.Add(time.Millisecond) // never spin
	}
	s.due = d
	if s.index >= 0 {
		heap.Fix(&m.due, s.index)
	}
}

// noteLocked records a change of state since the last look.
func (m *BFDManager) noteLocked(s *bfdSession, now time.Time, trs *[]BFDTransition) {
	st := s.m.State()
	if st == s.last {
		return
	}
	if st == BFDUp {
		s.c.Ups++
	} else if s.last == BFDUp {
		s.c.Downs++
	}
	*trs = append(*trs, BFDTransition{Name: s.name, Peer: s.m.cfg.Peer, From: s.last, To: st, Diag: s.m.Diag(), At: now})
	m.log.Info("bfd state", "session", s.name, "peer", s.m.cfg.Peer, "from", s.last, "to", st, "diag", s.m.Diag())
	s.last = st
}

// deliverUnlock releases mu and hands trs to OnTransition in order.
func (m *BFDManager) deliverUnlock(trs []BFDTransition) {
	if len(trs) == 0 || m.cfg.OnTransition == nil {
		m.mu.Unlock()
		return
	}
	m.dmu.Lock()
	m.mu.Unlock()
	defer m.dmu.Unlock()
	for _, tr := range trs {
		m.cfg.OnTransition(tr)
	}
}

// receive handles one datagram from a listener.
func (m *BFDManager) receive(multihop bool, data []byte, from, to netip.Addr, ttl int, trs *[]BFDTransition) {
	var pk BFDPacket
	err := pk.DecodeFromBytes(data)
	m.mu.Lock()
	if err != nil {
		m.counters.Malformed++
		m.mu.Unlock()
		return
	}
	from, to = from.Unmap().WithZone(""), to.Unmap()
	var s *bfdSession
	if pk.YourDiscriminator != 0 {
		s = m.byDiscr[pk.YourDiscriminator]
	} else if s = m.byPeer[bfdPeerKey{from, to, multihop}]; s == nil {
		s = m.byPeer[bfdPeerKey{from, netip.Addr{}, multihop}]
	}
	if s == nil || s.m.cfg.Peer.WithZone("") != from || s.m.cfg.Multihop != multihop ||
		s.m.cfg.Local.IsValid() && to.IsValid() && s.m.cfg.Local != to {
		m.counters.Unmatched++
		m.mu.Unlock()
		return
	}
	if ttl < s.m.cfg.MinTTL {
		s.c.Discarded++
		m.mu.Unlock()
		return
	}
	now := time.Now()
	if _, err := s.m.Receive(now, &pk); err != nil {
		s.c.Discarded++
	} else {
		s.c.PacketsIn++
		s.lastRx = now
	}
	old := s.due
	m.serviceLocked(s, now, trs)
	if s.due.Before(old) {
		m.kick()
	}
	m.deliverUnlock(*trs)
	*trs = (*trs)[:0]
}

// listenLocked opens listener i (family × port) if it is not open, and
// starts its reader.
func (m *BFDManager) listenLocked(i int) error {
	if m.listeners[i] != nil {
		return nil
	}
	l, err := openBFDListener(m.cfg.NetNS, i >= 2, i%2 == 1)
	if err != nil {
		return fmt.Errorf("check: bfd: listen: %w", err)
	}
	m.listeners[i] = l
	m.wg.Add(1)
	go m.read(l, i%2 == 1)
	return nil
}

func (m *BFDManager) read(l bfdListener, multihop bool) {
	defer m.wg.Done()
	buf := make([]byte, 512)
	oob := make([]byte, 128)
	var trs []BFDTransition
	for {
		n, from, to, ttl, err := l.read(buf, oob)
		if err != nil {
			if l.closed() {
				return
			}
			m.log.Warn("bfd receive", "err", err)
			time.Sleep(10 * time.Millisecond) // a persistent error must not spin
			continue
		}
		m.receive(multihop, buf[:n], from, to, ttl, &trs)
	}
}

func (m *BFDManager) closeListenersLocked() {
	for i, l := range m.listeners {
		if l != nil {
			l.close()
			m.listeners[i] = nil
		}
	}
}

// Close stops Run and releases every socket. It is safe to call more than
// once.
func (m *BFDManager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.stop)
	for _, s := range m.sessions {
		m.dropLocked(s)
	}
	m.closeListenersLocked()
	m.mu.Unlock()
	m.wg.Wait()
	return nil
}

// bfdSender sends one session's packets from its own source port.
type bfdSender interface {
	send(b []byte, to netip.AddrPort) error
	close() error
}

// bfdListener receives the packets of one family on one port, with their
// TTL or hop limit.
type bfdListener interface {
	read(b, oob []byte) (n int, from, to netip.Addr, ttl int, err error)
	close() error
	closed() bool
}

// bfdHeap orders sessions by due time.
type bfdHeap []*bfdSession

func (h bfdHeap) Len() int           { return len(h) }
func (h bfdHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h bfdHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *bfdHeap) Push(x any) {
	s := x.(*bfdSession)
	s.index = len(*h)
	*h = append(*h, s)
}
func (h *bfdHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	s.index = -1
	*h = old[:len(old)-1]
	return s
}
