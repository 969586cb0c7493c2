package check

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
	"golang.org/x/sys/unix"
)

// pipeOp is a pollOp on the read end of a pipe: ready once something is
// written to it.
type pipeOp struct {
	r, w    int
	dl      time.Time
	expired error
}

func newPipeOp(t *testing.T, dl time.Time) *pipeOp {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	return &pipeOp{r: p[0], w: p[1], dl: dl}
}

func (p *pipeOp) pollFD() (int, uint32) { return p.r, unix.EPOLLIN }
func (p *pipeOp) deadline() time.Time   { return p.dl }
func (p *pipeOp) release()              { unix.Close(p.r); unix.Close(p.w) }
func (p *pipeOp) ready(*quickState) (Result, bool) {
	p.release()
	return Result{Up: true}, true
}
func (p *pipeOp) expire(_ *quickState, err error) Result {
	p.expired = err
	p.release()
	return Result{Reason: "expired", Err: err}
}

// TestFlights: ready sockets finish their flights, passed deadlines expire
// theirs in deadline order, cancel ends one by its entry, finished flights
// do not pile up in the deadline heap, and abort ends the rest.
func TestFlights(t *testing.T) {
	noFDLeak(t)
	p := newPoller(t)
	w, q, f := p.w, p.q, p.f
	far := time.Now().Add(time.Hour)

	// Many flights that finish at once: the heap stays small.
	for i := range 500 {
		op := newPipeOp(t, far.Add(time.Duration(i)))
		if _, ok := f.add(q, op, job{}); !ok {
			t.Fatal("add failed")
		}
		unix.Write(op.w, []byte{1})
		w.poll()
		if out := f.collect(q, nil); len(out) != 1 || !out[0].r.Up {
			t.Fatalf("flight %d: collected %+v, want it up", i, out)
		}
		if len(f.queue) > 2*f.len()+65 {
			t.Fatalf("flight %d: %d places in the deadline heap for %d flights", i, len(f.queue), f.len())
		}
	}

	// Passed deadlines expire in order; cancel ends a flight by entry.
	past := time.Now().Add(-time.Second)
	for _, d := range []int{3, 1, 2, 0} {
		op := newPipeOp(t, past.Add(time.Duration(d)*time.Millisecond))
		e := &entry{}
		f.add(q, op, job{e: e, gen: uint32(d)})
	}
	keep := newPipeOp(t, far)
	f.add(q, keep, job{e: &entry{}})
	cancelled := &entry{}
	c := newPipeOp(t, far)
	f.add(q, c, job{e: cancelled})
	if out := f.cancel(q, cancelled, nil); len(out) != 1 || !errors.Is(c.expired, context.Canceled) {
		t.Fatalf("cancel: %+v, expired with %v", out, c.expired)
	}
	if out := f.cancel(q, cancelled, nil); len(out) != 0 {
		t.Fatalf("second cancel ended %+v", out)
	}
	w.poll()
	out := f.collect(q, nil)
	if len(out) != 4 {
		t.Fatalf("collected %d expired flights, want 4", len(out))
	}
	for i, j := range out {
		if j.gen != uint32(i) || !errors.Is(j.r.Err, errTimeout) {
			t.Errorf("expired #%d: gen %d, err %v; want deadline order and a timeout", i, j.gen, j.r.Err)
		}
	}
	if f.len() != 1 {
		t.Fatalf("%d flights left, want 1", f.len())
	}
	f.abort(q, ErrClosed)
	if !errors.Is(keep.expired, ErrClosed) || f.len() != 0 {
		t.Fatalf("abort: %v, %d flights left", keep.expired, f.len())
	}
}

// TestHTTPFlightsReuse: HTTP checks on the poller reuse one socket, which
// leaves the epoll set while it idles (else every wait would return at
// once with its hang-up).
func TestHTTPFlightsReuse(t *testing.T) {
	noFDLeak(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	p := newPoller(t)
	c := &HTTP{Addr: srv.Listener.Addr().(*net.TCPAddr).AddrPort(), Timeout: 5 * time.Second}
	fd := -1
	for i := range 20 {
		r, ok := p.start(c)
		if !ok {
			r = p.wait()
		}
		if !r.Up {
			t.Fatalf("check %d: %+v", i, r)
		}
		if i == 0 {
			fd = p.q.tcp4
		}
		if p.q.tcp4 < 0 || p.q.tcp4 != fd {
			t.Fatalf("check %d: socket %d kept, want %d reused", i, p.q.tcp4, fd)
		}
		p.w.poll()
		if len(p.w.ready) != 0 {
			t.Fatalf("check %d: the idle socket is still watched: %+v", i, p.w.ready)
		}
	}
}

// newPoller returns a testPoller closed when the test ends.
func newPoller(t *testing.T) *testPoller {
	t.Helper()
	p, err := newTestPoller()
	if err != nil {
		testenv.Missing(t, "%v", err)
	}
	t.Cleanup(p.close)
	return p
}

// deferPipeOp is a pipeOp that asks to be tried at at before its pipe is
// watched (a deferrer), recording the order it was tried in.
type deferPipeOp struct {
	*pipeOp
	at    time.Time
	id    int
	tried *[]int
}

func (d *deferPipeOp) retryAt() time.Time { return d.at }
func (d *deferPipeOp) ready(q *quickState) (Result, bool) {
	*d.tried = append(*d.tried, d.id)
	return d.pipeOp.ready(q)
}

// TestFlightsDeferredInDueOrder: deferred flights are tried in the order
// their retry times fall, whatever the order they were added in, and the
// loop's next wake-up is the earliest of them.
func TestFlightsDeferredInDueOrder(t *testing.T) {
	noFDLeak(t)
	p := newPoller(t)
	q, f := p.q, p.f
	base := time.Now().Add(-time.Second) // all due
	var tried []int
	offsets := []int{5, 1, 4, 0, 3, 2, 6}
	for _, o := range offsets {
		op := &deferPipeOp{pipeOp: newPipeOp(t, time.Now().Add(time.Hour)), at: base.Add(time.Duration(o) * time.Millisecond), id: o, tried: &tried}
		if _, ok := f.add(q, op, job{}); !ok {
			t.Fatal("add failed")
		}
	}
	if got, want := f.next(), base; !got.Equal(want) {
		t.Fatalf("next wake-up %v, want the earliest retry %v", got, want)
	}
	if out := f.collect(q, nil); len(out) != len(offsets) {
		t.Fatalf("collected %d flights, want %d", len(out), len(offsets))
	}
	for i, id := range tried {
		if id != i {
			t.Fatalf("deferred flights tried in order %v, want by retry time", tried)
		}
	}
}
