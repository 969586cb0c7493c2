package check

import (
	"context"
	"time"
)

// pollOp is a check in flight on a socket that the Monitor's loop waits
// on itself, with epoll, instead of a worker goroutine waiting on Go's
// poller: no goroutine, hand-off or wake-up per check, as in HAProxy's
// event loop.
type pollOp interface {
	// pollFD returns the socket and the epoll events to wait for next.
	pollFD() (fd int, events uint32)
	// ready continues the check after an event; done reports that r is
	// its result and the socket is released.
	ready(q *quickState) (r Result, done bool)
	// expire ends the check, its deadline passed or the Monitor closing,
	// releasing the socket.
	expire(q *quickState, err error) Result
	// deadline is when the check times out.
	deadline() time.Time
}

// sharedOp is a pollOp on a socket that many checks share, the raw socket
// of half-open TCP probes: the loop watches the socket once and keys the
// check by probeKey (negative, so no descriptor has it); the socket's
// owner, quickState.raw, tells which checks its answers finish.
type sharedOp interface {
	pollOp
	probeKey() int32
}

// deferrer is a pollOp that would rather be tried once more before its
// socket is watched: an HTTP check whose request went out, its answer
// expected within a fraction of a millisecond on a LAN or loopback.
// retryAt returns when, or the zero time to watch the socket at once.
// The loop calls ready at its first wake-up from then on (it wakes every
// millisecond or so anyway when checks are many) and adds the socket to
// the epoll set only if the op is not done by then. An answer already in
// costs no epoll_ctl to add and remove the socket, and no wake-up of its
// own; one that is not costs a read more.
type deferrer interface {
	pollOp
	retryAt() time.Time
}

// recycler is a pollOp kept for reuse, in q, once its flight has
// finished.
type recycler interface {
	recycle(q *quickState)
}

// retrier is a pollOp that may try again when its deadline passes (a
// half-open probe sends its SYN again, as the kernel retransmits a
// connect's): retry reports whether it did, its deadline moved on.
type retrier interface {
	retry(now time.Time) bool
}

// maxFlights bounds the checks in flight on the poller; beyond it quick
// checks fall back to the workers.
const maxFlights = 4096

// flights are the checks in flight on an eventWaker's epoll set.
type flights struct {
	w       *eventWaker
	byFD    map[int32]*flight
	byEntry map[*entry]*flight
	queue   []*flight // min-heap by deadline; finished ones leave lazily
	// shared are the sockets of sharedOps in the epoll set.
	shared map[int32]bool
	raw    []rawDone
	// free are flights that left the heap, for reuse: at ten thousand
	// checks a second, one allocation less per check.
	free []*flight
	// later are the deferred flights (see deferrer) in the order they
	// are due to be tried, from later[head] on; seq tells a flight
	// reused meanwhile.
	later []laterFlight
	head  int
	seq   uint64
	// watched counts the flights whose sockets are in the epoll set,
	// shared ones included.
	watched int
}

// laterFlight is a deferred flight and when to try it.
type laterFlight struct {
	fl  *flight
	seq uint64
	at  time.Time
}

type flight struct {
	op     pollOp
	fd     int
	events uint32
	j      job
	over   bool
	// watched: fd is in the epoll set (a deferred flight's is not yet).
	watched bool
	seq     uint64
	// dl is op's deadline when it entered the heap: the heap orders by
	// it, so a finished flight's op (reused once finished, see
	// rawProber.release) is never asked again.
	dl time.Time
}

// maxFreeFlights bounds the flights kept for reuse.
const maxFreeFlights = maxFlights

func newFlights(w *eventWaker) *flights {
	return &flights{w: w, byFD: make(map[int32]*flight), byEntry: make(map[*entry]*flight), shared: make(map[int32]bool)}
}

func (f *flights) len() int { return len(f.byFD) }

// add starts waiting on op for job j; on failure the op is expired and
// its result returned with ok false.
func (f *flights) add(q *quickState, op pollOp, j job) (r Result, ok bool) {
	fd, ev := op.pollFD()
	var at time.Time // when a deferred op is tried again
	if s, ok := op.(sharedOp); ok {
		if !f.shared[int32(fd)] {
			if err := f.w.watch(fd, ev, true); err != nil {
				return op.expire(q, err), false
			}
			f.shared[int32(fd)] = true
		}
		fd = int(s.probeKey())
	} else if d, ok := op.(deferrer); ok && !d.retryAt().IsZero() {
		at = d.retryAt()
	} else if err := f.w.watch(fd, ev, true); err != nil {
		return op.expire(q, err), false
	}
	// Shared sockets count as watched: poll must look at them.
	watched := at.IsZero()
	if watched {
		f.watched++
	}
	if len(f.queue) > 64 && len(f.queue) > 2*len(f.byFD) {
		f.compact()
	}
	var fl *flight
	if n := len(f.free); n > 0 {
		fl, f.free = f.free[n-1], f.free[:n-1]
	} else {
		fl = new(flight)
	}
	f.seq++
	*fl = flight{op: op, fd: fd, events: ev, j: j, dl: op.deadline(), watched: watched, seq: f.seq}
	if !watched {
		if f.head == len(f.later) {
			f.later, f.head = f.later[:0], 0
		}
		f.later = append(f.later, laterFlight{fl, f.seq, at})
		// Keep them in due order. Every HTTP flight waits the same
		// answerWait today, so this moves nothing; a flight due sooner
		// than the ones before it moves up past them.
		for i := len(f.later) - 1; i > f.head && f.later[i-1].at.After(at); i-- {
			f.later[i], f.later[i-1] = f.later[i-1], f.later[i]
		}
	}
	f.byFD[int32(fd)] = fl
	if j.e != nil {
		f.byEntry[j.e] = fl
	}
	f.queue = append(f.queue, fl)
	f.up(len(f.queue) - 1)
	return Result{}, true
}

// next returns when the loop is next due to look at its flights: the
// earliest deadline in flight or deferred flight to try, or the zero
// time.
func (f *flights) next() time.Time {
	d := f.nextDeadline()
	for f.head < len(f.later) {
		l := f.later[f.head]
		if l.fl.seq != l.seq || l.fl.over || l.fl.watched {
			f.later[f.head] = laterFlight{}
			f.head++
			continue
		}
		if d.IsZero() || l.at.Before(d) {
			d = l.at
		}
		break
	}
	return d
}

// nextDeadline returns the earliest deadline in flight, or the zero time.
func (f *flights) nextDeadline() time.Time {
	for len(f.queue) > 0 && f.queue[0].over {
		f.recycle(f.pop())
	}
	if len(f.queue) == 0 {
		return time.Time{}
	}
	return f.queue[0].dl
}

// recycle keeps fl, finished and out of the heap, for reuse.
func (f *flights) recycle(fl *flight) {
	if len(f.free) < maxFreeFlights {
		*fl = flight{}
		f.free = append(f.free, fl)
	}
}

// collect continues the checks whose sockets the last sleep or poll
// found ready, and expires those past their deadline, appending each
// finished job (its Result set) to out.
func (f *flights) collect(q *quickState, out []job) []job {
	now := time.Now()
	// Deferred flights first: most have their answers in, and one
	// judged now does not time out below.
	for f.head < len(f.later) && !f.later[f.head].at.After(now) {
		l := f.later[f.head]
		f.later[f.head] = laterFlight{}
		f.head++
		fl := l.fl
		if fl.seq != l.seq || fl.over || fl.watched {
			continue
		}
		r, done := fl.op.ready(q)
		if done {
			out = f.finish(q, fl, r, out)
			continue
		}
		fd, ev := fl.op.pollFD()
		if err := f.w.watch(fd, ev, true); err != nil {
			out = f.finish(q, fl, fl.op.expire(q, err), out)
			continue
		}
		fl.events, fl.watched = ev, true
		f.watched++
	}
	for _, e := range f.w.ready {
		if f.shared[e.Fd] {
			f.raw = q.raw.drain(int(e.Fd), e.Events, f.raw[:0])
			out = f.finishRaw(q, f.raw, out)
			clear(f.raw)
			continue
		}
		fl := f.byFD[e.Fd]
		if fl == nil || fl.over {
			continue
		}
		r, done := fl.op.ready(q)
		if done {
			out = f.finish(q, fl, r, out)
			continue
		}
		if fd, ev := fl.op.pollFD(); ev != fl.events {
			fl.events = ev
			if err := f.w.watch(fd, ev, false); err != nil {
				out = f.finish(q, fl, fl.op.expire(q, err), out)
			}
		}
	}
	f.w.ready = f.w.ready[:0]
	for d := f.nextDeadline(); !d.IsZero() && !d.After(now); d = f.nextDeadline() {
		fl := f.pop()
		if rt, ok := fl.op.(retrier); ok && rt.retry(now) {
			fl.dl = fl.op.deadline()
			f.queue = append(f.queue, fl)
			f.up(len(f.queue) - 1)
			continue
		}
		out = f.finish(q, fl, fl.op.expire(q, errTimeout), out)
		f.recycle(fl) // out of the heap and the maps
	}
	// The SYNs resent above go out together, and the probes whose SYN
	// the kernel refused (here or in the loop's flush) end.
	q.raw.flush()
	if len(q.raw.failed) > 0 {
		out = f.finishRaw(q, q.raw.failed, out)
		clear(q.raw.failed)
		q.raw.failed = q.raw.failed[:0]
	}
	return out
}

// finishRaw finishes the half-open probes of ds still in flight.
func (f *flights) finishRaw(q *quickState, ds []rawDone, out []job) []job {
	for _, d := range ds {
		if fl := f.byFD[d.key]; fl != nil && !fl.over {
			out = f.finish(q, fl, d.r, out)
		}
	}
	return out
}

func (f *flights) finish(q *quickState, fl *flight, r Result, out []job) []job {
	if fl.watched {
		f.watched--
		if q.holds(fl.fd) {
			// Kept for reuse: out of the epoll set, where an idle
			// socket would report a hang-up at every wait.
			f.w.unwatch(fl.fd)
		}
	}
	fl.over = true
	delete(f.byFD, int32(fl.fd))
	delete(f.byEntry, fl.j.e)
	fl.j.r = r
	out = append(out, fl.j)
	q.raw.finished(fl.op)
	if rc, ok := fl.op.(recycler); ok {
		rc.recycle(q)
	}
	fl.op, fl.j = nil, job{}
	return out
}

// poll collects the socket events ready now, if any socket is watched.
func (f *flights) poll() {
	if f.watched > 0 {
		f.w.poll()
	}
}

// cancel ends the check in flight for e, if any, appending its job to
// out.
func (f *flights) cancel(q *quickState, e *entry, out []job) []job {
	fl := f.byEntry[e]
	if fl == nil || fl.over {
		return out
	}
	return f.finish(q, fl, fl.op.expire(q, context.Canceled), out)
}

// abort expires every check in flight.
func (f *flights) abort(q *quickState, err error) {
	for _, fl := range f.byFD {
		fl.over = true
		fl.op.expire(q, err)
	}
	clear(f.byFD)
	clear(f.byEntry)
	f.queue = nil
	f.later, f.head, f.watched = nil, 0, 0
}

// compact drops the finished flights from the deadline heap, which
// otherwise keeps them until their deadlines come up.
func (f *flights) compact() {
	live := f.queue[:0]
	for _, fl := range f.queue {
		if !fl.over {
			live = append(live, fl)
		} else {
			f.recycle(fl)
		}
	}
	clear(f.queue[len(live):])
	f.queue = live
	for i := len(live)/2 - 1; i >= 0; i-- {
		f.down(i)
	}
}

func (f *flights) pop() *flight {
	h := f.queue
	fl := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = nil
	f.queue = h[:n]
	f.down(0)
	return fl
}

func (f *flights) less(i, j int) bool {
	return f.queue[i].dl.Before(f.queue[j].dl)
}

func (f *flights) up(j int) {
	h := f.queue
	for j > 0 {
		i := (j - 1) / 2
		if !f.less(j, i) {
			break
		}
		h[i], h[j] = h[j], h[i]
		j = i
	}
}

func (f *flights) down(i int) {
	h := f.queue
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if r := c + 1; r < len(h) && f.less(r, c) {
			c = r
		}
		if !f.less(c, i) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}
