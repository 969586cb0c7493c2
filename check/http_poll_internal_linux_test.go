package check

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestHTTPFlightAnswerInBeforeWatch: an answer that came in before the
// loop looked again is read and judged without the socket ever entering
// the epoll set; the socket is kept for the next check.
func TestHTTPFlightAnswerInBeforeWatch(t *testing.T) {
	noFDLeak(t)
	lfd, ap := rawHTTPServer(t)
	p := newPoller(t)
	c := &HTTP{Addr: ap, Timeout: 5 * time.Second}
	for i := range 5 {
		if r, done := p.start(c); done {
			t.Fatalf("check %d ended at once: %+v", i, r)
		}
		if p.f.watched != 0 {
			t.Fatalf("check %d: the socket was watched before the answer was looked for", i)
		}
		rawServeOne(t, lfd, okResponse)
		time.Sleep(answerWait + time.Millisecond)
		out := p.f.collect(p.q, nil)
		if len(out) != 1 || !out[0].r.Up {
			t.Fatalf("check %d: collected %+v, want one up", i, out)
		}
		if p.f.watched != 0 || p.f.len() != 0 {
			t.Fatalf("check %d: %d watched, %d in flight after the answer", i, p.f.watched, p.f.len())
		}
		if p.q.tcp4 < 0 {
			t.Fatalf("check %d: the socket was not kept for reuse", i)
		}
	}
}

// TestHTTPFlightLateAnswer: an answer that is not in when the loop first
// looks is waited for on epoll, and judged when it comes.
func TestHTTPFlightLateAnswer(t *testing.T) {
	noFDLeak(t)
	lfd, ap := rawHTTPServer(t)
	p := newPoller(t)
	if r, done := p.start(&HTTP{Addr: ap, Timeout: 5 * time.Second}); done {
		t.Fatalf("ended at once: %+v", r)
	}
	time.Sleep(answerWait + time.Millisecond)
	if out := p.f.collect(p.q, nil); len(out) != 0 {
		t.Fatalf("collected %+v before the server answered", out)
	}
	if p.f.watched != 1 {
		t.Fatalf("%d sockets watched, want the one waiting for its answer", p.f.watched)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		time.Sleep(20 * time.Millisecond)
		rawServeOne(t, lfd, okResponse)
	}()
	r := p.wait()
	<-served
	if !r.Up {
		t.Fatalf("%+v, want up", r)
	}
	if p.f.watched != 0 {
		t.Fatalf("%d sockets still watched", p.f.watched)
	}
	p.w.poll()
	if len(p.w.ready) != 0 {
		t.Fatalf("the idle socket kept for reuse is still watched: %+v", p.w.ready)
	}
}

// TestHTTPFlightAnswerInAtDeadline: a deferred flight whose deadline
// comes before the loop looked again is judged on the answer that came
// in meanwhile, not failed as a timeout.
func TestHTTPFlightAnswerInAtDeadline(t *testing.T) {
	noFDLeak(t)
	lfd, ap := rawHTTPServer(t)
	p := newPoller(t)
	if r, done := p.start(&HTTP{Addr: ap, Timeout: 2 * time.Millisecond}); done {
		t.Fatalf("ended at once: %+v", r)
	}
	p.f.later[p.f.head].at = time.Now().Add(time.Hour) // the deadline comes first
	rawServeOne(t, lfd, okResponse)
	time.Sleep(3 * time.Millisecond)
	out := p.f.collect(p.q, nil)
	if len(out) != 1 || !out[0].r.Up {
		t.Fatalf("collected %+v, want the answer judged up", out)
	}
}

// TestHTTPFlightConnectFailures: a refused connect and one that times out
// are reported as connect failures on the poller, as Check reports them.
func TestHTTPFlightConnectFailures(t *testing.T) {
	noFDLeak(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	p := newPoller(t)
	r, done := p.start(&HTTP{Addr: dead, Timeout: time.Second})
	if !done {
		r = p.wait()
	}
	if r.Up || !errors.Is(r.Err, syscall.ECONNREFUSED) || r.Reason != "connect: connection refused" {
		t.Fatalf("refused: %+v", r)
	}
	if p.q.tcp4 >= 0 {
		t.Errorf("a socket that failed to connect was kept for reuse")
	}

	r, done = p.start(&HTTP{Addr: silentListener(t), Timeout: 100 * time.Millisecond})
	if done {
		t.Fatalf("a connect to a full queue ended at once: %+v", r)
	}
	r = p.wait()
	if r.Up || !errors.Is(r.Err, context.DeadlineExceeded) || !strings.HasPrefix(r.Reason, "connect: ") {
		t.Fatalf("silent: %+v, want a connect timeout", r)
	}
}

// TestHTTPFlightNoAllocation: a check on the poller, from connect to
// verdict, allocates nothing once the loop's state is warm.
func TestHTTPFlightNoAllocation(t *testing.T) {
	lfd, ap := rawHTTPServer(t)
	p := newPoller(t)
	c := &HTTP{Addr: ap, Timeout: 5 * time.Second}
	out := make([]job, 0, 4)
	var r Result
	check := func() {
		var done bool
		if r, done = p.start(c); done {
			return
		}
		rawServeOne(t, lfd, okResponse)
		for range 1000 {
			p.w.arm(time.Until(p.f.next()))
			p.w.sleep()
			if out = p.f.collect(p.q, out[:0]); len(out) > 0 {
				r = out[0].r
				return
			}
		}
	}
	check()
	if allocs := testing.AllocsPerRun(50, check); allocs != 0 || !r.Up {
		t.Fatalf("%v allocations per check (%+v), want 0", allocs, r)
	}
}

const okResponse = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n"

// rawHTTPServer listens on loopback; rawServeOne answers one request
// there. Both use raw system calls, so that a test can count the
// checker's allocations alone.
func rawHTTPServer(t *testing.T) (int, netip.AddrPort) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 16); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	s4 := sa.(*unix.SockaddrInet4)
	return fd, netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), uint16(s4.Port))
}

// rawServeBuf is rawServeOne's: the tests that serve do so one request
// at a time, and a buffer of its own could escape (it does under -race).
var rawServeBuf [512]byte

func rawServeOne(t *testing.T, lfd int, resp string) {
	cfd, _, e := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(lfd), 0, 0, unix.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		t.Error("accept:", e)
		return
	}
	fd := int(cfd)
	defer unix.Close(fd)
	buf := &rawServeBuf
	for n := 0; ; {
		m, err := unix.Read(fd, buf[n:])
		if err != nil || m == 0 {
			t.Error("read request:", err, io.ErrUnexpectedEOF)
			return
		}
		if n += m; strings.Contains(unsafe.String(&buf[0], n), "\r\n\r\n") {
			break
		}
	}
	b := unsafe.Slice(unsafe.StringData(resp), len(resp))
	if _, err := unix.Write(fd, b); err != nil {
		t.Error("write response:", err)
	}
}
