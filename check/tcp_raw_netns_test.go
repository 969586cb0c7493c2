//go:build netns

package check

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvskit/lvskit/internal/netns"
)

// probed is one check's outcome on the loop: its result, and whether it
// went out as a half-open probe.
type probed struct {
	r   Result
	raw bool
}

// runLoop runs checks as a Monitor's loop does (quickCheck, then the
// flights on an epoll waker) on the calling thread, until all are done or
// 5 s pass.
func runLoop(t *testing.T, q *quickState, cs []TCP) []probed {
	t.Helper()
	w, err := newEventWaker()
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	fl := newFlights(w)
	defer fl.abort(q, ErrClosed)
	out := make([]probed, len(cs))
	left := len(cs)
	for i, c := range cs {
		q.poll = true
		r, rest, done := c.quickCheck(q)
		_, out[i].raw = rest.(*rawWait)
		op, isOp := rest.(pollOp)
		switch {
		case done:
			out[i].r = r
			left--
		case isOp:
			if r, ok := fl.add(q, op, job{gen: uint32(i)}); !ok {
				out[i].r = r
				left--
			}
		default:
			t.Fatalf("check %d: neither done nor on the poller (%T)", i, rest)
		}
	}
	q.raw.flush() // as the loop does after a batch
	for end := time.Now().Add(5 * time.Second); left > 0 && time.Now().Before(end); {
		w.arm(20 * time.Millisecond)
		w.sleep()
		for _, j := range fl.collect(q, nil) {
			out[j.gen].r = j.r
			left--
		}
	}
	if left > 0 {
		t.Fatalf("%d checks still in flight after 5 s", left)
	}
	return out
}

// nsListen listens inside n.
func nsListen(t *testing.T, n *netns.NS, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	if err := n.Do(func() (err error) { ln, err = net.Listen("tcp", addr); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// ghostNS returns a namespace linked by a veth pair to another one, with
// 10.66.0.1/24 and fd00:66::1/64 on its end: nobody answers for the other
// addresses on the link (neighbour discovery fails), so probes to them
// time out.
func ghostNS(t *testing.T) *netns.NS {
	n, _ := ghostPeer(t)
	return n
}

// ghostPeer is ghostNS that also returns the namespace at the link's
// other end.
func ghostPeer(t *testing.T) (*netns.NS, *netns.NS) {
	t.Helper()
	n, peer := netns.New(t), netns.New(t)
	netns.Veth(t, n, "eth0", peer, "eth0")
	n.AddAddr("eth0", netip.MustParsePrefix("10.66.0.1/24"))
	link, err := n.Handle().LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := netlink.ParseAddr("fd00:66::1/64")
	a.Flags = unix.IFA_F_NODAD
	if err := n.Handle().AddrAdd(link, a); err != nil {
		t.Fatal(err)
	}
	return n, peer
}

func addRoute(t *testing.T, n *netns.NS, dst string, typ int) {
	t.Helper()
	p := netip.MustParsePrefix(dst)
	if err := n.Handle().RouteAdd(&netlink.Route{Dst: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}, Type: typ}); err != nil {
		t.Fatalf("route %s: %v", dst, err)
	}
}

// noAccept fails if ln has a connection to accept: half-open probes leave
// the application nothing.
func noAccept(t *testing.T, ln net.Listener) {
	t.Helper()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(50 * time.Millisecond))
	if c, err := ln.Accept(); err == nil {
		c.Close()
		t.Errorf("listener %v accepted a connection", ln.Addr())
	}
}

// TestNetnsHalfOpen: on the loop with CAP_NET_RAW, TCP checks go out as
// half-open probes: a listener is up (and accepts nothing), a closed port
// is refused at once, a blackholed address times out, an unreachable one
// fails at once (also when the kernel refuses the SYN in the middle of
// the batch sent together); IPv4 and IPv6, and ProbeConnect still
// connects.
func TestNetnsHalfOpen(t *testing.T) {
	n := ghostNS(t)
	n.AddAddr("lo", netip.MustParsePrefix("10.55.0.1/32"))
	addRoute(t, n, "10.67.0.0/24", unix.RTN_UNREACHABLE)
	addRoute(t, n, "fd00:67::/64", unix.RTN_UNREACHABLE)
	ln4 := nsListen(t, n, "127.0.0.1:0")
	ln6 := nsListen(t, n, "[::1]:0")
	lnb := nsListen(t, n, "10.55.0.1:0")
	a4 := ln4.Addr().(*net.TCPAddr).AddrPort()
	a6 := ln6.Addr().(*net.TCPAddr).AddrPort()
	ab := lnb.Addr().(*net.TCPAddr).AddrPort()
	to := 300 * time.Millisecond
	cases := []struct {
		name   string
		c      TCP
		up     bool
		raw    bool
		reason string
		fast   bool
	}{
		{"v4 up", TCP{Addr: a4, Timeout: to}, true, true, "", true},
		{"v6 up", TCP{Addr: a6, Timeout: to}, true, true, "", true},
		{"v4 refused", TCP{Addr: netip.AddrPortFrom(a4.Addr(), 1), Timeout: to}, false, true, "connection refused", true},
		{"v6 refused", TCP{Addr: netip.AddrPortFrom(a6.Addr(), 1), Timeout: to}, false, true, "connection refused", true},
		{"v4 no answer", TCP{Addr: netip.MustParseAddrPort("10.66.0.5:80"), Timeout: to}, false, true, "connect: timeout", false},
		{"v6 no answer", TCP{Addr: netip.MustParseAddrPort("[fd00:66::5]:80"), Timeout: to}, false, true, "connect: timeout", false},
		{"v4 unreachable", TCP{Addr: netip.MustParseAddrPort("10.67.0.5:80"), Timeout: to}, false, false, "no route to host", true},
		{"v6 unreachable", TCP{Addr: netip.MustParseAddrPort("[fd00:67::5]:80"), Timeout: to}, false, true, "no route to host", true},
		// One sendmmsg from 10.55.0.1 whose middle SYN the kernel
		// refuses: that probe is down at once, those around it go out.
		{"v4 bindto", TCP{Addr: ab, Bind: netip.MustParseAddrPort("10.55.0.1:0"), Timeout: to}, true, true, "", true},
		{"v4 bindto unreachable", TCP{Addr: netip.MustParseAddrPort("10.67.0.5:80"), Bind: netip.MustParseAddrPort("10.55.0.1:0"), Timeout: to}, false, true, "no route to host", true},
		{"v4 bindto after", TCP{Addr: ab, Bind: netip.MustParseAddrPort("10.55.0.1:0"), Timeout: to}, true, true, "", true},
		{"v4 connect", TCP{Addr: a4, Timeout: to, Probe: ProbeConnect}, true, false, "", true},
		{"v4 bindto lo", TCP{Addr: a4, Bind: netip.MustParseAddrPort("127.0.0.1:0"), Timeout: to}, true, true, "", true},
		{"half-open bind_port", TCP{Addr: a4, Bind: netip.MustParseAddrPort("127.0.0.1:47001"), Timeout: to, Probe: ProbeHalfOpen}, false, false, "bind_port not supported", true},
	}
	var got []probed
	n.Do(func() error {
		q := newQuickState()
		defer q.close()
		cs := make([]TCP, len(cases))
		for i, tc := range cases {
			cs[i] = tc.c
		}
		got = runLoop(t, q, cs)
		return nil
	})
	for i, tc := range cases {
		g := got[i]
		if g.r.Up != tc.up || g.raw != tc.raw {
			t.Errorf("%s: Up %v raw %v (%+v), want Up %v raw %v", tc.name, g.r.Up, g.raw, g.r, tc.up, tc.raw)
		}
		if !tc.up && !strings.Contains(g.r.Reason, tc.reason) {
			t.Errorf("%s: Reason %q, want %q in it", tc.name, g.r.Reason, tc.reason)
		}
		if tc.fast && g.r.Latency > to/2 {
			t.Errorf("%s: took %v, want at once", tc.name, g.r.Latency)
		}
	}
	noAccept(t, ln4)
	noAccept(t, ln6)
	noAccept(t, lnb)
}

// TestNetnsHalfOpenICMP: an ICMP error for a probe's SYN (a router
// without a route to the target) fails the check at once, as it fails a
// connect.
func TestNetnsHalfOpenICMP(t *testing.T) {
	n, peer := ghostPeer(t)
	peer.AddAddr("eth0", netip.MustParsePrefix("10.66.0.2/24"))
	addRoute(t, peer, "10.68.0.0/24", unix.RTN_UNREACHABLE)
	peer.Do(func() error { return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644) })
	link, err := n.Handle().LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	_, dst, _ := net.ParseCIDR("10.68.0.0/24")
	if err := n.Handle().RouteAdd(&netlink.Route{Dst: dst, Gw: net.ParseIP("10.66.0.2"), LinkIndex: link.Attrs().Index}); err != nil {
		t.Fatal(err)
	}
	var got []probed
	n.Do(func() error {
		q := newQuickState()
		defer q.close()
		got = runLoop(t, q, []TCP{{Addr: netip.MustParseAddrPort("10.68.0.5:80"), Timeout: 2 * time.Second}})
		return nil
	})
	g := got[0]
	if g.r.Up || !g.raw || !errors.Is(g.r.Err, unix.EHOSTUNREACH) || g.r.Latency > time.Second {
		t.Errorf("%+v (raw %v), want down with EHOSTUNREACH at once", g.r, g.raw)
	}
}

// TestNetnsHalfOpenMany: many probes in flight at once, to listeners and
// closed ports in turn, each get their own answer.
func TestNetnsHalfOpenMany(t *testing.T) {
	n := netns.New(t)
	const k = 200
	var cs []TCP
	var want []bool
	for i := range k {
		addr := fmt.Sprintf("127.0.%d.%d:0", 1+i/250, 1+i%250)
		ln := nsListen(t, n, addr)
		a := ln.Addr().(*net.TCPAddr).AddrPort()
		if i%3 == 0 {
			ln.Close() // refused
		}
		cs = append(cs, TCP{Addr: a, Timeout: time.Second})
		want = append(want, i%3 != 0)
	}
	var got []probed
	n.Do(func() error {
		q := newQuickState()
		defer q.close()
		got = runLoop(t, q, cs)
		// And again on the same sockets.
		got = append(got, runLoop(t, q, cs)...)
		return nil
	})
	for i, g := range got {
		if w := want[i%k]; g.r.Up != w || !g.raw {
			t.Errorf("target %v: Up %v raw %v (%s), want Up %v", cs[i%k].Addr, g.r.Up, g.raw, g.r.Reason, w)
		}
	}
}

// TestNetnsHalfOpenMatch: an answer is taken only for the probe it
// acknowledges: a wrong acknowledgement number, another port, or an
// answer that comes after its probe timed out finish nothing.
func TestNetnsHalfOpenMatch(t *testing.T) {
	n := ghostNS(t)
	n.Do(func() error {
		q := newQuickState()
		defer q.close()
		dst := netip.MustParseAddrPort("10.66.0.7:80")
		w, _, _, err := q.raw.start(TCP{Addr: dst, Timeout: time.Second})
		if err != nil || w == nil {
			t.Fatalf("start: %v %v", w, err)
		}
		isn := w.id + q.raw.secret
		ok := rawReply{src: dst.Addr(), sport: 80, dport: w.sport, ack: isn + 1, flags: tcpSYN | tcpACK}
		for name, r := range map[string]rawReply{
			"wrong ack":     {src: ok.src, sport: ok.sport, dport: ok.dport, ack: isn + 2, flags: ok.flags},
			"ack of isn":    {src: ok.src, sport: ok.sport, dport: ok.dport, ack: isn, flags: ok.flags},
			"other port":    {src: ok.src, sport: 81, dport: ok.dport, ack: ok.ack, flags: ok.flags},
			"other address": {src: netip.MustParseAddr("10.66.0.8"), sport: ok.sport, dport: ok.dport, ack: ok.ack, flags: ok.flags},
			"other local":   {src: ok.src, sport: ok.sport, dport: ok.dport + 1, ack: ok.ack, flags: ok.flags},
			"bare ack":      {src: ok.src, sport: ok.sport, dport: ok.dport, ack: ok.ack, flags: tcpACK},
		} {
			if d := q.raw.answer(r, nil); len(d) != 0 {
				t.Errorf("%s: finished %+v", name, d)
			}
		}
		if d := q.raw.answer(ok, nil); len(d) != 1 || !d[0].r.Up || d[0].key != w.probeKey() {
			t.Errorf("right answer: %+v", d)
		}
		// A stale answer: the probe timed out first.
		w, _, _, _ = q.raw.start(TCP{Addr: dst, Timeout: time.Second})
		w.expire(q, errTimeout)
		stale := ok
		stale.dport, stale.ack = w.sport, w.id+q.raw.secret+1
		if d := q.raw.answer(stale, nil); len(d) != 0 {
			t.Errorf("stale answer finished %+v", d)
		}
		if len(q.raw.pending) != 0 {
			t.Errorf("%d probes pending", len(q.raw.pending))
		}
		return nil
	})
}

// TestNetnsHalfOpenNoCapNetRaw: without CAP_NET_RAW a TCP check connects
// (ProbeAuto), or fails saying why (ProbeHalfOpen).
func TestNetnsHalfOpenNoCapNetRaw(t *testing.T) {
	n := netns.New(t)
	ln := nsListen(t, n, "127.0.0.1:0")
	a := ln.Addr().(*net.TCPAddr).AddrPort()
	n.Do(func() error {
		// Capabilities are per thread: drop CAP_NET_RAW on this one,
		// which n.Do discards afterwards (it stays locked).
		runtime.LockOSThread()
		if err := dropCap(unix.CAP_NET_RAW); err != nil {
			t.Fatal(err)
		}
		q := newQuickState()
		defer q.close()
		got := runLoop(t, q, []TCP{{Addr: a, Timeout: time.Second}, {Addr: a, Timeout: time.Second, Probe: ProbeHalfOpen}})
		if !got[0].r.Up || got[0].raw {
			t.Errorf("auto: %+v, want up by connect", got[0])
		}
		if got[1].r.Up || !errors.Is(got[1].r.Err, unix.EPERM) {
			t.Errorf("half-open: %+v, want down with EPERM", got[1])
		}
		return nil
	})
}

// dropCap removes c from the calling thread's effective and permitted
// capability sets.
func dropCap(c int) error {
	h := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var d [2]unix.CapUserData
	if err := unix.Capget(&h, &d[0]); err != nil {
		return err
	}
	d[c/32].Effective &^= 1 << (c % 32)
	d[c/32].Permitted &^= 1 << (c % 32)
	return unix.Capset(&h, &d[0])
}

// TestNetnsHalfOpenSources: IPv4 probes go out on a raw socket bound to
// their source address, one per source up to maxBound, and the sources
// past that share one unbound socket; every probe is answered on
// whichever socket it went out on, and a second round reuses them.
func TestNetnsHalfOpenSources(t *testing.T) {
	n := netns.New(t)
	const sources = maxBound + 4
	var cs []TCP
	var lns []net.Listener
	for i := range 3 * sources {
		ln := nsListen(t, n, fmt.Sprintf("127.1.0.%d:0", 1+i%50))
		lns = append(lns, ln)
		src := netip.AddrFrom4([4]byte{127, 0, 0, byte(1 + i%sources)})
		cs = append(cs, TCP{Addr: ln.Addr().(*net.TCPAddr).AddrPort(), Bind: netip.AddrPortFrom(src, 0), Timeout: time.Second})
	}
	var got []probed
	var bound, fds int
	n.Do(func() error {
		q := newQuickState()
		defer q.close()
		got = runLoop(t, q, cs)
		got = append(got, runLoop(t, q, cs)...)
		f := &q.raw.fam[0]
		bound = len(f.bound)
		seen := map[int]bool{f.fd: true}
		for _, fd := range f.bound {
			seen[fd] = true
		}
		fds = len(seen)
		return nil
	})
	for i, g := range got {
		if !g.r.Up || !g.raw {
			t.Errorf("probe %d from %v: Up %v raw %v (%s)", i, cs[i%len(cs)].Bind.Addr(), g.r.Up, g.raw, g.r.Reason)
		}
	}
	// From a bound socket, and from the unbound one.
	noAccept(t, lns[0])
	noAccept(t, lns[len(lns)-1])
	if bound != sources || fds != maxBound+1 {
		t.Errorf("%d sources on %d sockets, want %d on %d", bound, fds, sources, maxBound+1)
	}
}
