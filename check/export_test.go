package check

import (
	"context"
	"time"
)

// Health exposes the HAProxy health counter to the external tests.
var Health = health

// testPoller is a Monitor loop's poller for tests: an eventWaker, scratch
// state that polls, and the flights on it.
type testPoller struct {
	w *eventWaker
	q *quickState
	f *flights
}

func newTestPoller() (*testPoller, error) {
	w, err := newEventWaker()
	if err != nil {
		return nil, err
	}
	q := newQuickState()
	q.poll = true
	return &testPoller{w: w, q: q, f: newFlights(w)}, nil
}

func (p *testPoller) close() {
	p.f.abort(p.q, ErrClosed)
	p.q.close()
	p.w.close()
}

// start begins a check as the loop would: its result if it is known at
// once, or, in flight, ok false.
func (p *testPoller) start(c Checker) (r Result, ok bool) {
	qc, isQuick := c.(quickChecker)
	if !isQuick {
		return c.Check(context.Background()), true
	}
	r, rest, done := qc.quickCheck(p.q)
	switch op, isOp := rest.(pollOp); {
	case done:
		return r, true
	case rest == nil:
		return c.Check(context.Background()), true
	case !isOp:
		return rest.Check(context.Background()), true
	default:
		r, added := p.f.add(p.q, op, job{})
		return r, !added
	}
}

// wait returns the result of the check in flight; the check's own
// deadline ends the wait.
func (p *testPoller) wait() Result {
	for {
		p.w.arm(time.Until(p.f.next()) + time.Millisecond)
		p.w.sleep()
		if out := p.f.collect(p.q, nil); len(out) > 0 {
			return out[0].r
		}
	}
}

// PollCheck runs c as a Monitor with the system clock would: its quick
// path on a loop's poller when it has one, Check otherwise.
func PollCheck(c Checker) Result {
	p, err := newTestPoller()
	if err != nil {
		return c.Check(context.Background())
	}
	defer p.close()
	if r, ok := p.start(c); ok {
		return r
	}
	return p.wait()
}
