package check_test

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
)

var t0 = time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)

func machine(t *testing.T, cfg check.BFDSessionConfig, discr uint32) *check.BFDMachine {
	t.Helper()
	if !cfg.Peer.IsValid() {
		cfg.Peer = netip.MustParseAddr("192.0.2.1")
	}
	m, err := check.NewBFDMachine(&cfg, discr, t0, uint64(discr))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// pair runs two machines over a perfect link with a delay of 100 µs, in
// 100 µs steps, until stop says so or limit passes. It returns the time
// reached. dead machines neither send nor receive.
type pair struct {
	m    [2]*check.BFDMachine
	dead [2]bool
	now  time.Time
	sent [2][]check.BFDPacket
	tr   []string
}

func (p *pair) run(t *testing.T, limit time.Duration, stop func() bool) {
	t.Helper()
	end := p.now.Add(limit)
	type flight struct {
		to int
		at time.Time
		pk check.BFDPacket
	}
	var air []flight
	for p.now.Before(end) && !stop() {
		for i, m := range p.m {
			if p.dead[i] {
				continue
			}
			for {
				var pk check.BFDPacket
				send, changed := m.Advance(p.now, &pk)
				if changed {
					p.tr = append(p.tr, m.State().String())
				}
				if !send {
					break
				}
				p.sent[i] = append(p.sent[i], pk)
				air = append(air, flight{1 - i, p.now.Add(100 * time.Microsecond), pk})
			}
		}
		keep := air[:0]
		for _, f := range air {
			if f.at.After(p.now) {
				keep = append(keep, f)
				continue
			}
			if !p.dead[f.to] {
				if _, err := p.m[f.to].Receive(p.now, &f.pk); err != nil && !errors.Is(err, check.ErrBFDDiscarded) {
					t.Fatal(err)
				}
			}
		}
		air = keep
		p.now = p.now.Add(100 * time.Microsecond)
	}
}

func TestBFDMachinesComeUpAndNegotiateFastTimers(t *testing.T) {
	cfg := check.BFDSessionConfig{DesiredMinTx: 10 * time.Millisecond, RequiredMinRx: 10 * time.Millisecond, DetectMult: 3}
	a, b := machine(t, cfg, 1), machine(t, cfg, 2)
	p := &pair{m: [2]*check.BFDMachine{a, b}, now: t0}
	p.run(t, 5*time.Second, func() bool { return a.State() == check.BFDUp && b.State() == check.BFDUp })
	if a.State() != check.BFDUp || b.State() != check.BFDUp {
		t.Fatalf("states %v %v", a.State(), b.State())
	}
	// Before the poll sequence ends the idle interval is in force.
	p.run(t, 100*time.Millisecond, func() bool { return false })
	if a.TxInterval() != 10*time.Millisecond || a.DetectionTime() != 30*time.Millisecond {
		t.Fatalf("tx %v detect %v", a.TxInterval(), a.DetectionTime())
	}
	var polls, finals int
	for _, pk := range p.sent[0] {
		if pk.Poll {
			polls++
		}
		if pk.Final {
			finals++
		}
		if pk.Poll && pk.Final {
			t.Fatal("P and F both set")
		}
	}
	if polls == 0 || finals == 0 {
		t.Fatalf("%d polls, %d finals: no poll sequence", polls, finals)
	}
	// The peer dies: Down with diag 1 within the detection time.
	p.dead[1] = true
	last := p.now
	p.run(t, time.Second, func() bool { return a.State() != check.BFDUp })
	if a.State() != check.BFDDown || a.Diag() != check.BFDDiagControlDetectExpired {
		t.Fatalf("state %v diag %v", a.State(), a.Diag())
	}
	if d := p.now.Sub(last); d > 31*time.Millisecond {
		t.Fatalf("down after %v, detection time 30ms", d)
	}
}

func TestBFDMachinePassiveWaitsForPeer(t *testing.T) {
	m := machine(t, check.BFDSessionConfig{Passive: true}, 5)
	var pk check.BFDPacket
	if send, _ := m.Advance(t0.Add(time.Hour), &pk); send {
		t.Fatal("passive session sent before hearing its peer")
	}
	in := check.BFDPacket{State: check.BFDDown, DetectMult: 3, MyDiscriminator: 9, DesiredMinTx: time.Second, RequiredMinRx: time.Second}
	if ch, err := m.Receive(t0.Add(time.Hour), &in); err != nil || !ch || m.State() != check.BFDInit {
		t.Fatalf("changed %v err %v state %v", ch, err, m.State())
	}
	if send, _ := m.Advance(t0.Add(time.Hour), &pk); !send || pk.YourDiscriminator != 9 || pk.State != check.BFDInit {
		t.Fatalf("send %v packet %+v", send, pk)
	}
}

func TestBFDMachineJitterStaysInRFCBounds(t *testing.T) {
	for _, mult := range []uint8{1, 3} {
		m := machine(t, check.BFDSessionConfig{DetectMult: mult, IdleTx: time.Second}, 3)
		var pk check.BFDPacket
		now := t0
		m.Advance(now, &pk)
		lo, hi := 750*time.Millisecond, time.Second
		if mult == 1 {
			hi = 900 * time.Millisecond
		}
		for range 1000 {
			d := m.Deadline().Sub(now)
			if d < lo || d > hi {
				t.Fatalf("mult %d: interval %v outside [%v, %v]", mult, d, lo, hi)
			}
			now = m.Deadline()
			m.Advance(now, &pk)
		}
	}
}

func TestBFDMachineDiscardsWhatRFC5880Discards(t *testing.T) {
	m := machine(t, check.BFDSessionConfig{Password: []byte("pw"), KeyID: 1}, 7)
	for _, pk := range []check.BFDPacket{
		{State: check.BFDInit, DetectMult: 3, MyDiscriminator: 9},                                                                              // your discr 0 and not Down
		{State: check.BFDDown, DetectMult: 3, MyDiscriminator: 9, YourDiscriminator: 8},                                                        // not ours
		{State: check.BFDDown, DetectMult: 3, MyDiscriminator: 9},                                                                              // no auth
		{State: check.BFDDown, DetectMult: 3, MyDiscriminator: 9, AuthType: check.BFDAuthSimplePassword, AuthKeyID: 1, AuthData: []byte("px")}, // wrong password
		{State: check.BFDDown, DetectMult: 3, MyDiscriminator: 9, AuthType: check.BFDAuthSimplePassword, AuthKeyID: 2, AuthData: []byte("pw")}, // wrong key ID
	} {
		if _, err := m.Receive(t0, &pk); !errors.Is(err, check.ErrBFDDiscarded) {
			t.Errorf("%+v: %v", pk, err)
		}
	}
	if m.State() != check.BFDDown {
		t.Fatal(m.State())
	}
	ok := check.BFDPacket{State: check.BFDDown, DetectMult: 3, MyDiscriminator: 9, AuthType: check.BFDAuthSimplePassword, AuthKeyID: 1, AuthData: []byte("pw")}
	if ch, err := m.Receive(t0, &ok); err != nil || !ch || m.State() != check.BFDInit {
		t.Fatalf("right password and key ID: %v %v %v", ch, err, m.State())
	}
}

func TestBFDMachineAdminDownTellsPeer(t *testing.T) {
	cfg := check.BFDSessionConfig{}
	a, b := machine(t, cfg, 1), machine(t, cfg, 2)
	p := &pair{m: [2]*check.BFDMachine{a, b}, now: t0}
	p.run(t, 5*time.Second, func() bool { return a.State() == check.BFDUp && b.State() == check.BFDUp })
	cfg.AdminDown = true
	if ch, err := a.Update(p.now, &cfg); err != nil || !ch || a.State() != check.BFDAdminDown {
		t.Fatal(ch, err, a.State())
	}
	p.run(t, time.Second, func() bool { return b.State() != check.BFDUp })
	if b.State() != check.BFDDown || b.Diag() != check.BFDDiagNeighborDown {
		t.Fatalf("peer %v %v", b.State(), b.Diag())
	}
}

// TestBFDMachineNeverUpWithoutThreeWayHandshake feeds random packets and
// time steps and checks that every move to Up follows our own Down or
// Init packet and a packet of the peer that names our discriminator and
// says Init or Up: the three-way handshake of RFC 5880 §6.2.
func TestBFDMachineNeverUpWithoutThreeWayHandshake(t *testing.T) {
	const local = 0x1234
	ups := 0
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 1))
		m := machine(t, check.BFDSessionConfig{Passive: seed%2 == 0, DesiredMinTx: 10 * time.Millisecond, RequiredMinRx: 10 * time.Millisecond}, local)
		now := t0
		sentNotUp := false // we told the peer we are Down or Init
		for step := range 400 {
			switch r.IntN(3) {
			case 0:
				now = now.Add(time.Duration(r.IntN(50)) * time.Millisecond)
				var pk check.BFDPacket
				for {
					send, _ := m.Advance(now, &pk)
					if !send {
						break
					}
					if pk.State == check.BFDUp && m.State() != check.BFDUp {
						t.Fatalf("seed %d step %d: sent Up while %v", seed, step, m.State())
					}
					if pk.State == check.BFDDown || pk.State == check.BFDInit {
						sentNotUp = true
					}
				}
			default:
				pk := check.BFDPacket{
					State:         check.BFDState(r.IntN(4)),
					DetectMult:    uint8(1 + r.IntN(5)),
					DesiredMinTx:  time.Duration(1+r.IntN(1000)) * time.Millisecond,
					RequiredMinRx: time.Duration(r.IntN(1000)) * time.Millisecond,
					Poll:          r.IntN(4) == 0,
					Final:         r.IntN(4) == 0,
				}
				pk.MyDiscriminator = uint32(1 + r.IntN(3))
				switch r.IntN(3) {
				case 0:
					pk.YourDiscriminator = local
				case 1:
					pk.YourDiscriminator = uint32(r.IntN(3))
				}
				before := m.State()
				changed, err := m.Receive(now, &pk)
				if err != nil && !errors.Is(err, check.ErrBFDDiscarded) {
					t.Fatal(err)
				}
				if changed && m.State() == check.BFDUp {
					if before == check.BFDUp || !sentNotUp || pk.YourDiscriminator != local ||
						(pk.State != check.BFDInit && pk.State != check.BFDUp) || (before == check.BFDDown && pk.State != check.BFDInit) {
						t.Fatalf("seed %d step %d: Up from %v on %+v (sent Down/Init before: %v)", seed, step, before, pk, sentNotUp)
					}
					ups++
				}
				if m.State() != check.BFDUp && m.State() != before {
					sentNotUp = false // must tell the peer again
				}
			}
		}
	}
	if ups < 100 {
		t.Fatalf("only %d moves to Up: the random peer is too weak to test the property", ups)
	}
}

func TestBFDMachineAdminDownAtStartSendsDiag7(t *testing.T) {
	cfg := check.BFDSessionConfig{AdminDown: true, Peer: netip.MustParseAddr("192.0.2.1")}
	m := machine(t, cfg, 4)
	var pk check.BFDPacket
	if send, _ := m.Advance(t0, &pk); !send || pk.State != check.BFDAdminDown || pk.Diag != check.BFDDiagAdminDown {
		t.Fatalf("send %v %+v", send, pk)
	}
	in := check.BFDPacket{State: check.BFDDown, DetectMult: 3, MyDiscriminator: 9}
	if _, err := m.Receive(t0, &in); !errors.Is(err, check.ErrBFDDiscarded) || m.State() != check.BFDAdminDown {
		t.Fatalf("AdminDown session took a packet: %v %v", err, m.State())
	}
	cfg.AdminDown = false
	if ch, err := m.Update(t0, &cfg); err != nil || !ch || m.State() != check.BFDDown {
		t.Fatalf("%v %v %v", ch, err, m.State())
	}
}
