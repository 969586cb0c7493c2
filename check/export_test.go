package check

import (
	"context"
	"time"
)

// Test helpers shared with the external tests of package check_test.
var SilentListener = silentListener

// PollCheck runs c as a Monitor with the system clock would: its quick
// path on a loop's poller when it has one, Check otherwise.
func PollCheck(c Checker) Result {
	qc, ok := c.(quickChecker)
	w, err := newEventWaker()
	if !ok || err != nil {
		return c.Check(context.Background())
	}
	defer w.close()
	q := newQuickState()
	defer q.close()
	q.poll = true
	r, rest, done := qc.quickCheck(q)
	if done {
		return r
	}
	if rest == nil {
		return c.Check(context.Background())
	}
	op, ok := rest.(pollOp)
	if !ok {
		return rest.Check(context.Background())
	}
	f := newFlights(w)
	if r, added := f.add(q, op, job{}); !added {
		return r
	}
	for {
		w.arm(time.Until(f.next()) + time.Millisecond)
		w.sleep()
		if out := f.collect(q, nil); len(out) > 0 {
			return out[0].r
		}
	}
}
