package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		testenv.Missing(t, "no /proc/self/fd")
	}
	return len(ents)
}

// noFDLeak fails the test if, once its other cleanups have run, more file
// descriptors are open than when it started. Call it first.
func noFDLeak(t *testing.T) {
	t.Helper()
	n0 := openFDs(t)
	t.Cleanup(func() {
		n := 0
		for i := 0; i < 500; i++ { // up to 5 s: the poller closes late
			if n = openFDs(t); n <= n0 {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Errorf("%d file descriptors open, %d before the test", n, n0)
	})
}

func listen(t *testing.T, network, addr string) (net.Listener, netip.AddrPort) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		testenv.Missing(t, "listen %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, ln.Addr().(*net.TCPAddr).AddrPort()
}

// TestTCPQuickReuse: handshakes that complete at once finish in
// quickCheck, on one socket kept between checks, and leave the listener
// nothing to accept.
func TestTCPQuickReuse(t *testing.T) {
	noFDLeak(t)
	q := newQuickState()
	defer q.close()
	for _, tc := range []struct {
		name, network, addr string
		slot                *int
	}{
		{"v4", "tcp4", "127.0.0.1:0", &q.tcp4},
		{"v6", "tcp6", "[::1]:0", &q.tcp6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, ap := listen(t, tc.network, tc.addr)
			fd := -1
			for i := range 20 {
				r, rest, done := TCP{Addr: ap}.quickCheck(q)
				if !done || rest != nil || !r.Up {
					t.Fatalf("check %d: %+v, rest %v, done %v; want up at once on loopback", i, r, rest, done)
				}
				if i == 0 {
					fd = *tc.slot
				}
				if *tc.slot < 0 || *tc.slot != fd {
					t.Fatalf("check %d: socket %d kept, want %d reused", i, *tc.slot, fd)
				}
			}
			ln.(*net.TCPListener).SetDeadline(time.Now().Add(100 * time.Millisecond))
			if c, err := ln.Accept(); err == nil {
				c.Close()
				t.Logf("the listener accepted a connection: this kernel completed the handshake")
			}
		})
	}
}

func TestTCPQuickRefused(t *testing.T) {
	noFDLeak(t)
	q := newQuickState()
	defer q.close()
	_, live := listen(t, "tcp4", "127.0.0.1:0")
	TCP{Addr: live}.quickCheck(q) // leaves a socket for reuse
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	r, rest, done := TCP{Addr: dead}.quickCheck(q)
	if !done || rest != nil || r.Up || !errors.Is(r.Err, syscall.ECONNREFUSED) {
		t.Fatalf("%+v, rest %v, done %v; want down with ECONNREFUSED at once", r, rest, done)
	}
	if r.Reason != "connect: connection refused" {
		t.Errorf("Reason %q, want the one TCP.Check gives", r.Reason)
	}
	if q.tcp4 >= 0 {
		t.Errorf("a socket that failed to connect was kept for reuse")
	}
	if r, _, done := (TCP{Addr: live}).quickCheck(q); !done || !r.Up {
		t.Fatalf("after a refusal: %+v", r)
	}
}

// TestTCPQuickPending: a handshake still in flight is handed over with its
// socket; the continuation times out, or ends with its context, and
// closes the socket either way.
func TestTCPQuickPending(t *testing.T) {
	noFDLeak(t)
	ap := silentListener(t)
	q := newQuickState()
	defer q.close()
	r, rest, done := TCP{Addr: ap, Timeout: 100 * time.Millisecond}.quickCheck(q)
	if done || rest == nil {
		t.Fatalf("%+v, rest %v, done %v; want a continuation", r, rest, done)
	}
	if q.tcp4 >= 0 {
		t.Fatalf("the socket in flight is still kept for reuse")
	}
	r = rest.Check(context.Background())
	if r.Up || !errors.Is(r.Err, context.DeadlineExceeded) || r.Reason != "connect: timeout: context deadline exceeded" {
		t.Fatalf("%+v, want a connect timeout", r)
	}

	_, rest, _ = TCP{Addr: ap, Timeout: time.Hour}.quickCheck(q)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r = rest.Check(ctx); r.Up || !errors.Is(r.Err, context.Canceled) {
		t.Fatalf("%+v, want Canceled", r)
	}
}

func TestTCPQuickNotForBind(t *testing.T) {
	_, ap := listen(t, "tcp4", "127.0.0.1:0")
	q := newQuickState()
	defer q.close()
	if _, rest, done := (TCP{Addr: ap, Bind: netip.MustParseAddrPort("127.0.0.1:0")}).quickCheck(q); done || rest != nil {
		t.Fatalf("a bound check took the quick path")
	}
	if _, rest, done := (TCP{}).quickCheck(q); done || rest != nil {
		t.Fatalf("a check without address took the quick path")
	}
}

// silentListener returns a loopback listener whose accept queue is full,
// so that further SYNs are dropped and connects hang.
func silentListener(t *testing.T) netip.AddrPort {
	ap, _ := silentListenerFD(t)
	return ap
}

// silentListenerFD is silentListener that also returns the listening
// socket, so that the test can accept (and so unblock the queue).
func silentListenerFD(t *testing.T) (netip.AddrPort, int) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	ap := netip.AddrPortFrom(netip.AddrFrom4(sa.(*syscall.SockaddrInet4).Addr), uint16(sa.(*syscall.SockaddrInet4).Port))
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", ap.String(), 200*time.Millisecond)
		if err != nil {
			return ap, fd // the queue is full
		}
		t.Cleanup(func() { c.Close() })
		if i == 10 {
			testenv.Missing(t, "cannot fill a listen queue here")
		}
	}
}

// TestTCPFlightCompletes: a handshake that completes on the poller, after
// the listener's queue frees up and the SYN is sent again, passes, and its
// socket is kept for reuse out of the epoll set.
func TestTCPFlightCompletes(t *testing.T) {
	noFDLeak(t)
	ap, lfd := silentListenerFD(t)
	p := newPoller(t)
	if _, ok := p.start(TCP{Addr: ap, Timeout: 10 * time.Second, Probe: ProbeConnect}); ok {
		t.Fatal("the handshake did not wait")
	}
	// Free the queue: the kernel's retransmitted SYN (after about 1 s)
	// then gets an answer.
	nfd, _, err := syscall.Accept(lfd)
	if err != nil {
		t.Fatal(err)
	}
	syscall.Close(nfd)
	r := p.wait()
	if !r.Up {
		t.Fatalf("%+v, want up once the queue had room", r)
	}
	if p.q.tcp4 < 0 {
		t.Fatal("the socket was not kept for reuse")
	}
	p.w.poll()
	if len(p.w.ready) != 0 {
		t.Fatalf("the idle socket is still watched: %+v", p.w.ready)
	}
}

func TestZoneID(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		testenv.Missing(t, "no lo")
	}
	for z, want := range map[string]uint32{"7": 7, "lo": uint32(lo.Index), "no-such-if0": 0} {
		if got := zoneID(z); got != want {
			t.Errorf("zoneID(%q) = %d, want %d", z, got, want)
		}
	}
	// A link-local address with a named zone: the check reaches a
	// listener on it through either path. The host's lo has no
	// link-local address, so the test gives one to lo in a namespace of
	// its own.
	ns := netns.New(t)
	ns.AddAddr("lo", netip.MustParsePrefix("fe80::1/64"))
	err = ns.Do(func() error {
		ln, err := net.Listen("tcp6", "[fe80::1%lo]:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		// The listener reports its address without the zone.
		ap := netip.AddrPortFrom(netip.MustParseAddr("fe80::1").WithZone("lo"), ln.Addr().(*net.TCPAddr).AddrPort().Port())
		// The new address may take a moment to be usable on a loaded
		// host: wait (bounded) until a plain dial gets through.
		for i := 0; ; i++ {
			c, err := net.DialTimeout("tcp6", ap.String(), time.Second)
			if err == nil {
				c.Close()
				break
			}
			if i == 50 {
				return fmt.Errorf("the namespace's link-local address never answered: %w", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if r := (TCP{Addr: ap}).Check(context.Background()); !r.Up {
			t.Errorf("Check: %+v", r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestQuickStateSpares: sockets released while the slot is taken (checks
// that overlapped) are kept as spares, up to maxSpare, and taken again
// before any new socket is opened.
func TestQuickStateSpares(t *testing.T) {
	noFDLeak(t)
	q := newQuickState()
	defer q.close()
	_, ap := listen(t, "tcp4", "127.0.0.1:0")
	var fds []int
	for range maxSpare + 2 {
		fd, err := q.take(ap)
		if err != nil {
			t.Fatal(err)
		}
		if err := startConnect(fd, ap); err != nil {
			t.Fatalf("connect: %v", err)
		}
		fds = append(fds, fd)
	}
	for _, fd := range fds {
		q.put(fd, ap)
		if fd != q.tcp4 && !q.holds(fd) && len(q.spare4) < maxSpare {
			t.Fatalf("socket %d released but not kept", fd)
		}
	}
	if q.tcp4 < 0 || len(q.spare4) != maxSpare {
		t.Fatalf("kept slot %d and %d spares, want a slot and %d", q.tcp4, len(q.spare4), maxSpare)
	}
	kept := map[int]bool{q.tcp4: true}
	for _, fd := range q.spare4 {
		kept[fd] = true
	}
	for i := range maxSpare + 1 {
		fd, err := q.take(ap)
		if err != nil || !kept[fd] {
			t.Fatalf("take %d: socket %d (%v), want a kept one", i, fd, err)
		}
		one := &quickState{tcp4: fd, tcp6: -1}
		r, _, done := (TCP{Addr: ap}).quickCheck(one)
		one.close()
		if !done || !r.Up {
			t.Fatalf("take %d: a kept socket does not connect again: %+v", i, r)
		}
	}
}
