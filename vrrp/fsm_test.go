package vrrp

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"
)

type recorder struct {
	sent  []uint8
	trans []Transition
}

func (r *recorder) Send(p uint8)            { r.sent = append(r.sent, p) }
func (r *recorder) Transition(t Transition) { r.trans = append(r.trans, t) }

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	addrLow  = netip.MustParseAddr("10.0.0.1")
	addrMid  = netip.MustParseAddr("10.0.0.2")
	addrHigh = netip.MustParseAddr("10.0.0.3")
)

// step is one event in a table test, at an offset from t0.
type step struct {
	at     time.Duration
	do     string // start, stop, tick, advert, fault, recover, prio
	src    netip.Addr
	prio   uint8
	ivl    time.Duration
	state  State
	sent   []uint8       // adverts sent by this step
	timer  time.Duration // expected deadline offset from t0; -1 = none
	reason Reason        // expected reason if the step changed state
}

func TestMachineTransitions(t *testing.T) {
	sec := time.Second
	// v2 priority 100 at 1 s: skew = 156/256 s = 609.375 ms, MDI = 3.609375 s.
	mdi100 := 3*sec + 156*sec/256
	skew100 := 156 * sec / 256
	cs := 10 * time.Millisecond
	tests := []struct {
		name  string
		cfg   Election
		steps []step
	}{
		{"init->backup on startup", Election{Version: 2, Priority: 100, Interval: sec, Primary: addrMid}, []step{
			{do: "start", state: StateBackup, timer: mdi100, reason: ReasonStartup},
		}},
		{"owner 255 init->master at once", Election{Version: 2, Priority: 255, Interval: sec, Primary: addrMid}, []step{
			{do: "start", state: StateMaster, sent: []uint8{255}, timer: sec, reason: ReasonStartup},
		}},
		{"backup->master on master down timer", Election{Version: 2, Priority: 100, Interval: sec, Primary: addrMid}, []step{
			{do: "start", state: StateBackup, timer: mdi100},
			{at: mdi100 - 1, do: "tick", state: StateBackup, timer: mdi100},
			{at: mdi100, do: "tick", state: StateMaster, sent: []uint8{100}, timer: mdi100 + sec, reason: ReasonMasterDown},
			{at: mdi100 + sec, do: "tick", state: StateMaster, sent: []uint8{100}, timer: mdi100 + 2*sec},
		}},
		{"backup resets timer on higher advert", Election{Version: 2, Priority: 100, Interval: sec, Primary: addrMid}, []step{
			{do: "start", state: StateBackup, timer: mdi100},
			{at: sec, do: "advert", src: addrHigh, prio: 200, ivl: sec, state: StateBackup, timer: sec + mdi100},
		}},
		{"backup resets timer on equal advert", Election{Version: 2, Priority: 100, Interval: sec, Primary: addrMid}, []step{
			{do: "start", state: StateBackup, timer: mdi100},
			{at: sec, do: "advert", src: addrLow, prio: 100, ivl: sec, state: StateBackup, timer: sec + mdi100},
		}},
		{"backup preempts lower master: advert discarded", Election{Version: 2, Priority: 100, Interval: sec, Primary: addrMid}, []step{
			{do: "start", state: StateBackup, timer: mdi100},
			{at: sec, do: "advert", src: addrHigh, prio: 50, ivl: sec, state: StateBackup, timer: mdi100},
			{at: mdi100, do: "tick", state: StateMaster, sent: []uint8{100}, timer: mdi100 + sec},
		}},
		{"nopreempt backup keeps lower master", Election{Version: 2, Priority: 100, Interval: sec, NoPreempt: true, Primary: addrMid}, []step{
			{do: "start", state: StateBackup, timer: mdi100},
			{at: sec, do: "advert", src: addrHigh, prio: 50, ivl: sec, state: StateBackup, timer: sec + mdi100},
		}},
		{"preempt_delay holds then preempts", Election{Version: 2, Priority: 100, Interval: sec, PreemptDelay: 5 * sec, Primary: addrMid}, []step{
			{do: "start", state: StateBackup, timer: mdi100},
			{at: 3 * sec, do: "advert", src: addrHigh, prio: 50, ivl: sec, state: StateBackup, timer: 3*sec + mdi100},
			{at: 5 * sec, do: "advert", src: addrHigh, prio: 50, ivl: sec, state: StateBackup, timer: 3*sec + mdi100},
			{at: 3*sec + mdi100, do: "tick", state: StateMaster, sent: []uint8{100}, timer: 4*sec + mdi100},
		}},
		{"backup priority 0 advert -> skew time", Election{Version: 2, Priority: 100, Interval: sec, Primary: addrMid}, []step{
			{do: "start", state: StateBackup, timer: mdi100},
			{at: sec, do: "advert", src: addrHigh, prio: 0, ivl: sec, state: StateBackup, timer: sec + skew100},
			{at: sec + skew100, do: "tick", state: StateMaster, sent: []uint8{100}, timer: 2*sec + skew100},
		}},
		{"master steps down for higher priority", Election{Version: 2, Priority: 100, Interval: sec, Primary: addrMid}, []step{
			{do: "start", state: StateBackup},
			{at: mdi100, do: "tick", state: StateMaster, sent: []uint8{100}},
			{at: 4 * sec, do: "advert", src: addrLow, prio: 101, ivl: sec, state: StateBackup, timer: 4*sec + mdi100, reason: ReasonPreempted},
		}},
		{"master equal priority, higher address wins", Election{Version: 2, Priority: 100, Interval: sec, Primary: addrMid}, []step{
			{do: "start", state: StateBackup},
			{at: mdi100, do: "tick", state: StateMaster, sent: []uint8{100}},
			{at: 4 * sec, do: "advert", src: addrHigh, prio: 100, ivl: sec, state: StateBackup, timer: 4*sec + mdi100, reason: ReasonPreempted},
		}},
		{"master equal priority, lower address loses", Election{Version: 2, Priority: 100, Interval: sec, Primary: addrMid}, []step{
			{do: "start", state: StateBackup},
			{at: mdi100, do: "tick", state: StateMaster, sent: []uint8{100}},
			{at: 4 * sec, do: "advert", src: addrLow, prio: 100, ivl: sec, state: StateMaster, sent: []uint8{100}, timer: 5 * sec},
		}},
		{"master answers lower priority at once", Election{Version: 2, Priority: 100, Interval: sec, Primary: addrMid}, []step{
			{do: "start", state: StateBackup},
			{at: mdi100, do: "tick", state: StateMaster, sent: []uint8{100}},
			{at: 4 * sec, do: "advert", src: addrHigh, prio: 99, ivl: sec, state: StateMaster, sent: []uint8{100}, timer: 5 * sec},
		}},
		{"master answers priority 0 with an advert", Election{Version: 2, Priority: 100, Interval: sec, Primary: addrMid}, []step{
			{do: "start", state: StateBackup},
			{at: mdi100, do: "tick", state: StateMaster, sent: []uint8{100}},
			{at: 4 * sec, do: "advert", src: addrHigh, prio: 0, ivl: sec, state: StateMaster, sent: []uint8{100}, timer: 5 * sec},
		}},
		{"master shutdown sends priority 0", Election{Version: 2, Priority: 255, Interval: sec, Primary: addrMid}, []step{
			{do: "start", state: StateMaster, sent: []uint8{255}},
			{at: sec / 2, do: "stop", state: StateInit, sent: []uint8{0}, timer: -1, reason: ReasonShutdown},
		}},
		{"backup shutdown is silent", Election{Version: 2, Priority: 100, Interval: sec, Primary: addrMid}, []step{
			{do: "start", state: StateBackup},
			{at: sec, do: "stop", state: StateInit, timer: -1, reason: ReasonShutdown},
		}},
		{"owner master ignores priority 254", Election{Version: 2, Priority: 255, Interval: sec, Primary: addrLow}, []step{
			{do: "start", state: StateMaster, sent: []uint8{255}},
			{at: sec / 2, do: "advert", src: addrHigh, prio: 254, ivl: sec, state: StateMaster, sent: []uint8{255}, timer: sec/2 + sec},
		}},
		{"v3 backup learns master interval", Election{Version: 3, Priority: 100, Interval: 100 * cs, Primary: addrMid}, []step{
			{do: "start", state: StateBackup, timer: 3*sec + skew100},
			// master advertises every 20 cs: MDI = 60 cs + 156*20cs/256
			{at: sec, do: "advert", src: addrHigh, prio: 200, ivl: 20 * cs, state: StateBackup, timer: sec + 60*cs + 156*20*cs/256},
		}},
		{"v3 becomes master with its own interval", Election{Version: 3, Priority: 100, Interval: 5 * cs, Primary: addrMid}, []step{
			{do: "start", state: StateBackup, timer: 15*cs + 156*5*cs/256},
			{at: sec, do: "advert", src: addrHigh, prio: 200, ivl: 20 * cs, state: StateBackup},
			{at: sec + 60*cs + 156*20*cs/256, do: "tick", state: StateMaster, sent: []uint8{100}, timer: sec + 60*cs + 156*20*cs/256 + 5*cs},
		}},
		{"v2 ignores advertised interval for timing", Election{Version: 2, Priority: 100, Interval: sec, Primary: addrMid}, []step{
			{do: "start", state: StateBackup},
			{at: sec, do: "advert", src: addrHigh, prio: 200, ivl: 2 * sec, state: StateBackup, timer: sec + mdi100},
		}},
		{"fault from master resigns; recover -> backup", Election{Version: 2, Priority: 100, Interval: sec, Primary: addrMid}, []step{
			{do: "start", state: StateBackup},
			{at: mdi100, do: "tick", state: StateMaster, sent: []uint8{100}},
			{at: 4 * sec, do: "fault", state: StateFault, sent: []uint8{0}, timer: -1, reason: ReasonFault},
			{at: 5 * sec, do: "advert", src: addrHigh, prio: 200, ivl: sec, state: StateFault, timer: -1},
			{at: 6 * sec, do: "recover", state: StateBackup, timer: 6*sec + mdi100, reason: ReasonRecovered},
		}},
		{"fault from backup; owner recovers to master", Election{Version: 2, Priority: 255, Interval: sec, Primary: addrMid}, []step{
			{do: "start", state: StateMaster, sent: []uint8{255}},
			{at: sec / 2, do: "fault", state: StateFault, sent: []uint8{0}, timer: -1},
			{at: sec, do: "recover", state: StateMaster, sent: []uint8{255}, timer: 2 * sec, reason: ReasonRecovered},
		}},
		{"fault before start starts in fault", Election{Version: 2, Priority: 100, Interval: sec, Primary: addrMid}, []step{
			{do: "fault", state: StateInit, timer: -1},
			{do: "start", state: StateFault, timer: -1, reason: ReasonFault},
			{at: sec, do: "recover", state: StateBackup, timer: sec + mdi100},
		}},
		{"lowered priority: backup with higher priority preempts", Election{Version: 2, Priority: 100, Interval: sec, Primary: addrMid}, []step{
			{do: "start", state: StateBackup},
			{at: sec, do: "advert", src: addrHigh, prio: 150, ivl: sec, state: StateBackup, timer: sec + mdi100},
			{at: 2 * sec, do: "prio", prio: 200, state: StateBackup, timer: sec + mdi100},
			{at: 2 * sec, do: "advert", src: addrHigh, prio: 150, ivl: sec, state: StateBackup, timer: sec + mdi100},
			{at: sec + mdi100, do: "tick", state: StateMaster, sent: []uint8{200}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r recorder
			m, err := NewMachine(tc.cfg, &r)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				now := t0.Add(s.at)
				nSent, nTrans := len(r.sent), len(r.trans)
				switch s.do {
				case "start":
					m.Start(now)
				case "stop":
					m.Stop(now)
				case "tick":
					m.Tick(now)
				case "advert":
					m.Advert(now, s.src, s.prio, s.ivl)
				case "fault":
					m.SetFault(now, true)
				case "recover":
					m.SetFault(now, false)
				case "prio":
					m.SetPriority(now, s.prio)
				default:
					t.Fatalf("bad step %q", s.do)
				}
				if got := m.State(); got != s.state {
					t.Fatalf("step %d (%s): state %v, want %v", i, s.do, got, s.state)
				}
				if got := r.sent[nSent:]; !slices.Equal(got, s.sent) && !(len(got) == 0 && len(s.sent) == 0) {
					t.Fatalf("step %d (%s): sent %v, want %v", i, s.do, got, s.sent)
				}
				switch {
				case s.timer == -1:
					if !m.Deadline().IsZero() {
						t.Fatalf("step %d (%s): timer at %v, want none", i, s.do, m.Deadline().Sub(t0))
					}
				case s.timer != 0:
					if got := m.Deadline().Sub(t0); got != s.timer {
						t.Fatalf("step %d (%s): timer at %v, want %v", i, s.do, got, s.timer)
					}
				}
				if len(r.trans) > nTrans {
					tr := r.trans[len(r.trans)-1]
					if tr.To != s.state || (s.reason != 0 && tr.Reason != s.reason) {
						t.Fatalf("step %d (%s): transition %+v, want to %v reason %v", i, s.do, tr, s.state, s.reason)
					}
				}
			}
		})
	}
}

func TestMachineTimes(t *testing.T) {
	// RFC 9568 example figures: priority 100 at 1 s.
	m, _ := NewMachine(Election{Version: 3, Priority: 100, Interval: time.Second}, nil)
	if got, want := m.SkewTime(), 609375*time.Microsecond; got != want {
		t.Errorf("skew %v, want %v", got, want)
	}
	if got, want := m.MasterDownInterval(), 3609375*time.Microsecond; got != want {
		t.Errorf("MDI %v, want %v", got, want)
	}
	for _, bad := range []Election{{Priority: 0, Interval: time.Second}, {Priority: 1}, {Version: 4, Priority: 1, Interval: time.Second}} {
		if _, err := NewMachine(bad, nil); err == nil {
			t.Errorf("NewMachine(%+v) accepted", bad)
		}
	}
}

// simGroup simulates VRRP routers on one virtual clock with a lossy,
// partitionable, delaying network.
type simGroup struct {
	now   time.Time
	nodes []*simNode
	queue []simPacket
	link  [][]bool // link[i][j]: i's adverts reach j
	delay time.Duration
	rnd   *rand.Rand
}

type simNode struct {
	g       *simGroup
	id      int
	m       *Machine
	running bool
	faulty  bool
}

type simPacket struct {
	at       time.Time
	from, to int
	prio     uint8
	ivl      time.Duration
}

func (n *simNode) Send(p uint8) {
	g := n.g
	for j := range g.nodes {
		if j == n.id || !g.link[n.id][j] {
			continue
		}
		d := time.Duration(0)
		if g.delay > 0 {
			d = time.Duration(g.rnd.Int64N(int64(g.delay)))
		}
		g.queue = append(g.queue, simPacket{at: g.now.Add(d), from: n.id, to: j, prio: p, ivl: n.m.cfg.Interval})
	}
}
func (n *simNode) Transition(Transition) {}

func (g *simGroup) addr(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}) }

// run advances the clock to until, delivering packets and firing timers in
// time order.
func (g *simGroup) run(until time.Time, check func()) {
	for i := 0; i < 1_000_000; i++ {
		next := until
		kind, idx := -1, -1
		for k, p := range g.queue {
			if p.at.Before(next) {
				next, kind, idx = p.at, 0, k
			}
		}
		for k, n := range g.nodes {
			if d := n.m.Deadline(); !d.IsZero() && d.Before(next) {
				next, kind, idx = d, 1, k
			}
		}
		if kind < 0 {
			g.now = until
			return
		}
		g.now = next
		if kind == 0 {
			p := g.queue[idx]
			g.queue = slices.Delete(g.queue, idx, idx+1)
			g.nodes[p.to].m.Advert(g.now, g.addr(p.from), p.prio, p.ivl)
		} else {
			g.nodes[idx].m.Tick(g.now)
		}
		if check != nil {
			check()
		}
	}
	panic("simulation did not finish")
}

func (g *simGroup) masters() int {
	n := 0
	for _, x := range g.nodes {
		if x.m.State() == StateMaster {
			n++
		}
	}
	return n
}

// TestMachineProperty drives random groups through random partitions,
// crashes, faults and priority changes, heals everything, and checks that
// exactly one master remains from then on.
func TestMachineProperty(t *testing.T) {
	for seed := uint64(1); seed <= 300; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(seed, 42))
			version := uint8(2 + rnd.IntN(2))
			ivl := time.Second
			if version == 3 {
				ivl = time.Duration(1+rnd.IntN(100)) * 10 * time.Millisecond
			}
			n := 2 + rnd.IntN(4)
			g := &simGroup{now: t0, rnd: rnd, delay: ivl / time.Duration(2+rnd.IntN(20))}
			g.link = make([][]bool, n)
			for i := range n {
				g.link[i] = make([]bool, n)
				for j := range n {
					g.link[i][j] = true
				}
				prio := uint8(1 + rnd.IntN(254))
				switch rnd.IntN(4) {
				case 0:
					prio = 100 // equal priorities are common
				case 1:
					if i == 0 {
						prio = 255
					}
				}
				node := &simNode{g: g, id: i}
				m, err := NewMachine(Election{Version: version, Priority: prio, Interval: ivl,
					NoPreempt: rnd.IntN(3) == 0, PreemptDelay: time.Duration(rnd.IntN(3)) * ivl,
					Primary: g.addr(i)}, node)
				if err != nil {
					t.Fatal(err)
				}
				node.m = m
				g.nodes = append(g.nodes, node)
			}
			// Chaos phase.
			for range 40 {
				x := g.nodes[rnd.IntN(n)]
				switch rnd.IntN(6) {
				case 0:
					if x.running {
						x.m.Stop(g.now)
					} else {
						x.m.Start(g.now)
					}
					x.running = !x.running
				case 1:
					x.faulty = !x.faulty
					x.m.SetFault(g.now, x.faulty)
				case 2:
					x.m.SetPriority(g.now, uint8(1+rnd.IntN(254)))
				default:
					g.link[rnd.IntN(n)][rnd.IntN(n)] = rnd.IntN(2) == 0
				}
				g.run(g.now.Add(time.Duration(rnd.Int64N(int64(5*ivl)))), nil)
			}
			// Heal.
			for i := range n {
				for j := range n {
					g.link[i][j] = true
				}
				x := g.nodes[i]
				if x.faulty {
					x.faulty = false
					x.m.SetFault(g.now, false)
				}
				if !x.running {
					x.running = true
					x.m.Start(g.now)
				}
			}
			// Settle: an MDI (< 4 intervals) to elect, one interval to
			// resolve simultaneous masters, plus delivery delays.
			g.run(g.now.Add(6*ivl), nil)
			if got := g.masters(); got != 1 {
				t.Fatalf("after settling: %d masters", got)
			}
			g.run(g.now.Add(20*ivl), func() {
				if got := g.masters(); got != 1 {
					t.Fatalf("at %v: %d masters", g.now.Sub(t0), got)
				}
			})
		})
	}
}
