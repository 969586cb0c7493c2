package check

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// ErrBFDDiscarded reports a packet that RFC 5880 §6.8.6 says to discard
// (wrong discriminator, authentication mismatch, AdminDown session).
var ErrBFDDiscarded = errors.New("check: bfd: packet discarded")

// ErrBFDConfig reports a BFDSessionConfig a session cannot use.
var ErrBFDConfig = errors.New("check: bfd: invalid session config")

// BFDMachine is the state machine of one BFD session (RFC 5880 §6), in
// asynchronous mode without echo or demand. It is pure: time is passed in
// and packets are handed over as values, so tests drive it step by step;
// BFDManager runs many of them on one timer and one set of sockets.
//
// A BFDMachine is not safe for concurrent use.
type BFDMachine struct {
	cfg   BFDSessionConfig
	rnd   *rand.Rand
	local uint32

	state, remoteState BFDState
	diag               BFDDiag
	remote             uint32

	// Advertised intervals, and the ones in force for our transmit and
	// detection timers (they differ during a poll sequence, §6.8.3).
	advTx, advRx     time.Duration
	effTx, effRx     time.Duration
	remoteMinRx      time.Duration
	remoteDesiredTx  time.Duration
	remoteDetectMult uint8

	poll, final bool
	nextTx      time.Time
	detectAt    time.Time
	// told is set once we have sent a packet in the current Down or Init
	// state: only then can the peer's Init or Up be an answer to it.
	told bool
}

// NewBFDMachine returns a session in Down (or AdminDown) with local
// discriminator local, which must be non-zero and unique on the system.
// seed seeds the transmit jitter.
func NewBFDMachine(cfg *BFDSessionConfig, local uint32, now time.Time, seed uint64) (*BFDMachine, error) {
	if cfg == nil {
		return nil, ErrBFDConfig
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if local == 0 {
		return nil, errors.Join(ErrBFDConfig, errors.New("check: bfd: local discriminator 0"))
	}
	m := &BFDMachine{cfg: cfg.withDefaults(), local: local, rnd: rand.New(rand.NewPCG(seed, uint64(local)))}
	m.state, m.remoteState = BFDDown, BFDDown
	m.remoteMinRx = time.Microsecond // §6.8.1: initial bfd.RemoteMinRxInterval is 1
	m.setIdleTimers()
	if m.cfg.AdminDown {
		m.state = BFDAdminDown
		m.diag = BFDDiagAdminDown
	}
	m.nextTx = now
	return m, nil
}

// setIdleTimers advertises the idle transmit interval (not Up) and the
// configured receive interval, in force at once (§6.8.3 allows any change
// outside Up).
func (m *BFDMachine) setIdleTimers() {
	m.advTx, m.advRx = m.cfg.IdleTx, m.cfg.RequiredMinRx
	m.effTx, m.effRx = m.advTx, m.advRx
	m.poll = false
}

// State returns the local session state.
func (m *BFDMachine) State() BFDState { return m.state }

// Diag returns the local diagnostic: why the session last went down.
func (m *BFDMachine) Diag() BFDDiag { return m.diag }

// RemoteState returns the state the peer last reported.
func (m *BFDMachine) RemoteState() BFDState { return m.remoteState }

// LocalDiscriminator returns our discriminator.
func (m *BFDMachine) LocalDiscriminator() uint32 { return m.local }

// RemoteDiscriminator returns the peer's discriminator, zero when unknown.
func (m *BFDMachine) RemoteDiscriminator() uint32 { return m.remote }

// Config returns the session's configuration with defaults filled in.
func (m *BFDMachine) Config() BFDSessionConfig { return m.cfg }

// TxInterval returns the negotiated transmit interval before jitter
// (§6.8.7); zero when the peer asked for no packets.
func (m *BFDMachine) TxInterval() time.Duration {
	if m.remoteMinRx == 0 {
		return 0
	}
	return max(m.effTx, m.remoteMinRx)
}

// DetectionTime returns the negotiated detection time (§6.8.4).
func (m *BFDMachine) DetectionTime() time.Duration {
	return time.Duration(m.remoteDetectMult) * max(m.effRx, m.remoteDesiredTx)
}

// Deadline returns when Advance next has work: a packet to send or the
// detection time to check. The zero Time means nothing is scheduled.
func (m *BFDMachine) Deadline() time.Time {
	d := m.detectAt
	if t := m.txAt(); !t.IsZero() && (d.IsZero() || t.Before(d)) {
		d = t
	}
	return d
}

// txAt is when the next packet goes out, zero if none is due (§6.8.7:
// nothing while the peer's RequiredMinRx is 0 or, passive, before the peer
// spoke).
func (m *BFDMachine) txAt() time.Time {
	if m.final {
		return m.nextTx
	}
	if m.remoteMinRx == 0 || (m.cfg.Passive && m.remote == 0) {
		return time.Time{}
	}
	return m.nextTx
}

// jitter returns the interval to the next periodic packet: the transmit
// interval less 0-25 %, or less 10-25 % with a detect multiplier of 1
// (§6.8.7).
func (m *BFDMachine) jitter(iv time.Duration) time.Duration {
	if m.cfg.DetectMult == 1 {
		return iv - iv/10 - time.Duration(m.rnd.Int64N(int64(iv*15/100)+1))
	}
	return iv - time.Duration(m.rnd.Int64N(int64(iv/4)+1))
}

// Advance runs the timers up to now. When a packet is due it fills out and
// returns true; the caller sends it and calls Advance again until it
// returns false. changed reports a state transition.
func (m *BFDMachine) Advance(now time.Time, out *BFDPacket) (send, changed bool) {
	if !m.detectAt.IsZero() && !now.Before(m.detectAt) {
		m.detectAt = time.Time{}
		m.remote = 0 // §6.8.1
		m.remoteState = BFDDown
		if m.state == BFDInit || m.state == BFDUp {
			changed = m.goDown(now, BFDDiagControlDetectExpired)
		}
	}
	t := m.txAt()
	if t.IsZero() || now.Before(t) {
		return false, changed
	}
	m.fill(out)
	m.final = false
	m.told = m.told || m.state == BFDDown || m.state == BFDInit
	if iv := m.TxInterval(); iv > 0 {
		m.nextTx = now.Add(m.jitter(iv))
	}
	return true, changed
}

// fill writes the packet the session sends now (§6.8.7).
func (m *BFDMachine) fill(p *BFDPacket) {
	*p = BFDPacket{
		Version:           BFDVersion,
		Diag:              m.diag,
		State:             m.state,
		Final:             m.final,
		Poll:              m.poll && !m.final,
		DetectMult:        m.cfg.DetectMult,
		MyDiscriminator:   m.local,
		YourDiscriminator: m.remote,
		DesiredMinTx:      m.advTx,
		RequiredMinRx:     m.advRx,
	}
	if len(m.cfg.Password) > 0 {
		p.AuthType, p.AuthKeyID, p.AuthData = BFDAuthSimplePassword, m.cfg.KeyID, m.cfg.Password
	}
}

// Receive applies a decoded control packet (§6.8.6) and reports whether
// the state changed. A packet the RFC discards returns ErrBFDDiscarded.
func (m *BFDMachine) Receive(now time.Time, p *BFDPacket) (changed bool, err error) {
	if len(m.cfg.Password) > 0 {
		if p.AuthType != BFDAuthSimplePassword || p.AuthKeyID != m.cfg.KeyID || !bytes.Equal(p.AuthData, m.cfg.Password) {
			return false, ErrBFDDiscarded
		}
	} else if p.AuthType != BFDAuthNone {
		return false, ErrBFDDiscarded
	}
	if p.YourDiscriminator != 0 && p.YourDiscriminator != m.local {
		return false, ErrBFDDiscarded
	}
	if p.YourDiscriminator == 0 && p.State != BFDDown && p.State != BFDAdminDown {
		return false, ErrBFDDiscarded
	}
	if m.remote != 0 && p.MyDiscriminator != m.remote && m.state != BFDDown {
		// A new peer incarnation speaks while we are still up with the
		// old one: only its Down or AdminDown can bring us down.
		if p.State != BFDDown && p.State != BFDAdminDown {
			return false, ErrBFDDiscarded
		}
	}
	oldTx := m.TxInterval()
	m.remote = p.MyDiscriminator
	m.remoteState = p.State
	m.remoteMinRx = p.RequiredMinRx
	m.remoteDesiredTx = p.DesiredMinTx
	m.remoteDetectMult = p.DetectMult
	if p.Final && m.poll {
		m.poll = false
		m.effTx, m.effRx = m.advTx, m.advRx
	}
	if m.state == BFDAdminDown {
		return false, ErrBFDDiscarded
	}
	m.detectAt = now.Add(m.DetectionTime())
	switch {
	case p.State == BFDAdminDown:
		if m.state != BFDDown {
			changed = m.goDown(now, BFDDiagNeighborDown)
		}
	case m.state == BFDDown:
		switch p.State {
		case BFDDown:
			changed = m.set(now, BFDInit)
		case BFDInit:
			if m.told {
				changed = m.goUp(now)
			}
		}
	case m.state == BFDInit:
		if m.told && (p.State == BFDInit || p.State == BFDUp) {
			changed = m.goUp(now)
		}
	case m.state == BFDUp:
		if p.State == BFDDown {
			changed = m.goDown(now, BFDDiagNeighborDown)
		}
	}
	if p.Poll {
		m.final = true
		m.nextTx = now
	} else if iv := m.TxInterval(); iv != oldTx && iv > 0 && m.nextTx.After(now.Add(iv)) {
		// The peer asks for packets sooner than we planned: do not make it
		// wait out an interval negotiated for a slower rate.
		m.nextTx = now.Add(m.jitter(iv))
	}
	return changed, nil
}

func (m *BFDMachine) set(now time.Time, s BFDState) bool {
	if m.state == s {
		return false
	}
	m.state = s
	m.told = false
	m.nextTx = now // tell the peer at once
	return true
}

func (m *BFDMachine) goUp(now time.Time) bool {
	m.diag = BFDDiagNone
	m.setUpTimers(now)
	return m.set(now, BFDUp)
}

// setUpTimers moves from the idle intervals to the configured ones with a
// poll sequence (§6.8.3): a slower transmit interval or a faster receive
// interval wait for the peer's Final.
func (m *BFDMachine) setUpTimers(now time.Time) {
	tx, rx := m.cfg.DesiredMinTx, m.cfg.RequiredMinRx
	if tx == m.advTx && rx == m.advRx {
		return
	}
	m.advTx, m.advRx = tx, rx
	if tx < m.effTx {
		m.effTx = tx
	}
	if rx > m.effRx {
		m.effRx = rx
	}
	m.poll = true
	m.nextTx = now
}

func (m *BFDMachine) goDown(now time.Time, d BFDDiag) bool {
	m.diag = d
	m.setIdleTimers()
	return m.set(now, BFDDown)
}

// Update changes the session's timers, multiplier, passive flag and admin
// state (§6.8.3, §6.8.16); the peer, addresses and authentication stay. It
// reports whether the state changed.
func (m *BFDMachine) Update(now time.Time, cfg *BFDSessionConfig) (changed bool, err error) {
	c := *cfg
	if !c.Peer.IsValid() {
		c.Peer = m.cfg.Peer
	}
	if err := c.validate(); err != nil {
		return false, err
	}
	c = c.withDefaults()
	if c.Peer != m.cfg.Peer || c.Local != m.cfg.Local || c.Interface != m.cfg.Interface || c.Multihop != m.cfg.Multihop ||
		c.MinTTL != m.cfg.MinTTL || c.TTL != m.cfg.TTL || c.KeyID != m.cfg.KeyID || !bytes.Equal(c.Password, m.cfg.Password) {
		return false, fmt.Errorf("%w: Update changes the session's addressing or authentication; Remove and Add it", ErrBFDConfig)
	}
	m.cfg.DesiredMinTx, m.cfg.RequiredMinRx, m.cfg.IdleTx = c.DesiredMinTx, c.RequiredMinRx, c.IdleTx
	if m.cfg.DetectMult != c.DetectMult {
		m.cfg.DetectMult = c.DetectMult
		m.poll = m.poll || m.state == BFDUp
	}
	m.cfg.Passive = c.Passive
	switch {
	case c.AdminDown && m.state != BFDAdminDown:
		m.cfg.AdminDown = true
		m.diag = BFDDiagAdminDown
		m.detectAt = time.Time{}
		m.setIdleTimers()
		return m.set(now, BFDAdminDown), nil
	case !c.AdminDown && m.state == BFDAdminDown:
		m.cfg.AdminDown = false
		m.setIdleTimers()
		return m.set(now, BFDDown), nil
	case m.state == BFDUp:
		m.setUpTimers(now)
	default:
		m.setIdleTimers()
	}
	return false, nil
}
