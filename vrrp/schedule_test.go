package vrrp

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"
)

var st0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// TestScheduleOrder checks the heap against a plain sorted list under a
// deterministic random mix of adds, moves, removals and pops.
func TestScheduleOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 200
	slots := make([]slot, n)
	for i := range slots {
		slots[i] = newSlot(i)
	}
	var q schedule
	ref := map[int]time.Time{} // id → at, the scheduled ones
	check := func(step int) {
		t.Helper()
		if q.len() != len(ref) {
			t.Fatalf("step %d: len %d, want %d", step, q.len(), len(ref))
		}
		for i, s := range q.h {
			if s.idx != i {
				t.Fatalf("step %d: slot %d at index %d thinks it is at %d", step, s.id, i, s.idx)
			}
			if i > 0 && q.less(i, (i-1)/2) {
				t.Fatalf("step %d: heap order broken at %d", step, i)
			}
		}
	}
	for step := range 5000 {
		id := rng.IntN(n)
		switch op := rng.IntN(10); {
		case op < 6: // add or move
			at := st0.Add(time.Duration(rng.IntN(1000)) * time.Millisecond)
			q.set(&slots[id], at, rng.IntN(2) == 0)
			ref[id] = at
		case op < 8: // remove
			q.set(&slots[id], time.Time{}, false)
			delete(ref, id)
			if slots[id].idx != -1 {
				t.Fatalf("step %d: removed slot still at %d", step, slots[id].idx)
			}
		default: // pop everything due at a random time, in order
			now := st0.Add(time.Duration(rng.IntN(1000)) * time.Millisecond)
			var want []int
			for id, at := range ref {
				if !at.After(now) {
					want = append(want, id)
				}
			}
			slices.SortFunc(want, func(a, b int) int {
				if c := ref[a].Compare(ref[b]); c != 0 {
					return c
				}
				return a - b
			})
			var got []int
			q.fire(now, n+1, func(id int, at time.Time) {
				if !at.Equal(now) {
					t.Fatalf("fire passed %v, want %v", at, now)
				}
				got = append(got, id)
				delete(ref, id)
			})
			if !slices.Equal(got, want) {
				t.Fatalf("step %d: fired %v, want %v", step, got, want)
			}
		}
		check(step)
	}
}

func TestScheduleWake(t *testing.T) {
	var q schedule
	if !q.wake().IsZero() || q.peek() != nil || q.popDue(st0) != nil {
		t.Fatal("empty schedule not empty")
	}
	a, b := newSlot(0), newSlot(1)
	q.set(&a, st0.Add(time.Second), false)
	q.set(&b, st0.Add(time.Second+time.Millisecond), true)
	if got := q.wake(); !got.Equal(st0.Add(time.Second)) {
		t.Fatalf("wake %v, want the master's time", got)
	}
	q.set(&a, time.Time{}, false)
	// A precise slot wakes the waiter spinWindow early.
	if got, want := q.wake(), st0.Add(time.Second+time.Millisecond-spinWindow); !got.Equal(want) {
		t.Fatalf("wake %v, want %v", got, want)
	}
	if q.popDue(st0.Add(time.Second)) != nil {
		t.Fatal("popped before due")
	}
	if s := q.popDue(st0.Add(time.Second + time.Millisecond)); s != &b || s.idx != -1 || !s.at.IsZero() {
		t.Fatalf("popDue = %+v", s)
	}
}

func TestScheduleFireLimit(t *testing.T) {
	var q schedule
	s := newSlot(7)
	q.set(&s, st0, false)
	n := 0
	// A tick that keeps the slot due must not loop forever.
	q.fire(st0, 5, func(id int, now time.Time) {
		n++
		q.set(&s, now, false)
	})
	if n != 5 {
		t.Fatalf("fired %d times, want the limit 5", n)
	}
}

func TestFireAt(t *testing.T) {
	d := st0.Add(1234567 * time.Microsecond)
	for _, c := range []struct {
		st      State
		ivl     time.Duration
		want    time.Time
		precise bool
	}{
		{StateMaster, time.Second, st0.Add(1235 * time.Millisecond), false}, // 5 ms grid
		{StateMaster, 10 * time.Millisecond, coalesce(d, 10*time.Millisecond), false},
		{StateBackup, time.Second, d, true},
		{StateFault, time.Second, d, false},
	} {
		at, precise := fireAt(c.st, d, c.ivl)
		if !at.Equal(c.want) || precise != c.precise {
			t.Errorf("fireAt(%v, %v) = %v, %v; want %v, %v", c.st, c.ivl, at, precise, c.want, c.precise)
		}
	}
	if at, _ := fireAt(StateMaster, time.Time{}, time.Second); !at.IsZero() {
		t.Errorf("no deadline fires at %v", at)
	}
}

// simEnv records a simulated instance's adverts.
type simEnv struct {
	sent  []time.Time
	now   *time.Time
	trans []Transition
}

func (e *simEnv) Send(uint8)              { e.sent = append(e.sent, *e.now) }
func (e *simEnv) Transition(t Transition) { e.trans = append(e.trans, t) }

// TestScheduleDrivesMachines runs a thousand masters and one backup on a
// simulated clock the way Router.scheduler does (sleep until wake, spin
// to a precise slot, fire what is due) and checks that every master
// advertises once per interval without drift, that the adverts leave in a
// few batches per second rather than a thousand, and that the backup
// takes over exactly at Master_Down_Interval.
func TestScheduleDrivesMachines(t *testing.T) {
	const n = 1000
	now := st0
	var q schedule
	ms := make([]*Machine, n+1)
	envs := make([]*simEnv, n+1)
	slots := make([]slot, n+1)
	rng := rand.New(rand.NewPCG(3, 4))
	resched := func(id int) {
		at, precise := fireAt(ms[id].State(), ms[id].Deadline(), time.Second)
		q.set(&slots[id], at, precise)
	}
	for i := range ms {
		envs[i] = &simEnv{now: &now}
		prio := uint8(255) // owners: master at once
		if i == n {
			prio = 100
		}
		m, err := NewMachine(Election{Version: 2, Priority: prio, Interval: time.Second,
			Primary: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})}, envs[i])
		if err != nil {
			t.Fatal(err)
		}
		ms[i], slots[i] = m, newSlot(i)
		// Instances start scattered over the first second.
		m.Start(now.Add(time.Duration(rng.IntN(1000)) * time.Millisecond))
		resched(i)
	}
	tick := func(id int, now time.Time) { ms[id].Tick(now); resched(id) }
	wakes := 0
	const run = 5 * time.Minute
	end := st0.Add(run)
	for now.Before(end) {
		w := q.wake()
		if s := q.peek(); s.precise && !w.After(now) {
			now = s.at // the spin ends exactly on time
		} else {
			now = w
			wakes++
		}
		q.fire(now, n+2, tick)
	}
	for i, e := range envs[:n] {
		// Start sends one advert, then one per second on the grid.
		if want := int(run / time.Second); len(e.sent) < want || len(e.sent) > want+2 {
			t.Fatalf("master %d sent %d adverts in %v, want %d", i, len(e.sent), run, want+1)
		}
		for j := 2; j < len(e.sent); j++ {
			if gap := e.sent[j].Sub(e.sent[j-1]); gap < time.Second-5*time.Millisecond || gap > time.Second+5*time.Millisecond {
				t.Fatalf("master %d: adverts %d and %d %v apart", i, j-1, j, gap)
			}
		}
	}
	// 1,000 masters on a 5 ms grid: at most 200 wake-ups a second, not 1,000.
	if perSec := float64(wakes) / run.Seconds(); perSec > 200 {
		t.Errorf("%.0f wake-ups per second", perSec)
	}
	// The backup heard nobody: master exactly Master_Down_Interval after start.
	b := envs[n]
	if len(b.trans) < 2 || b.trans[1].To != StateMaster {
		t.Fatalf("backup transitions %+v", b.trans)
	}
	mdi := 3*time.Second + time.Duration(256-100)*time.Second/256
	if got := b.trans[1].At.Sub(b.trans[0].At); got != mdi {
		t.Errorf("backup took over after %v, want %v", got, mdi)
	}
}
