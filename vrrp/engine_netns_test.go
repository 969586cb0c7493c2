//go:build netns

package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// TestAdvertPathNoAlloc drives a Router's engine by hand (no goroutines,
// so that nothing else allocates meanwhile) through steady-state master
// adverts on real sockets: firing the timers, queueing the prebuilt
// adverts, sending them in one sendmmsg per socket, and reading and
// checking them at the far end of the veth must not allocate; what the
// reader reports (source, destination, TTL, interface) must be right.
func TestAdvertPathNoAlloc(t *testing.T) {
	testenv.NeedRoot(t)
	h, sink := netns.New(t), netns.New(t)
	netns.Veth(t, h, "eth0", sink, "s0")
	h.AddAddr("eth0", netip.MustParsePrefix("10.78.0.1/24"))
	r, err := NewRouter(&RouterConfig{NetNS: h.Path()})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	for v := 1; v <= n; v++ {
		_, err := r.Add(Config{Name: fmt.Sprintf("VI_%d", v), Interface: "eth0", VRID: uint8(v), Version: 2, Priority: 255,
			Interval: time.Second, VIPs: []VIP{{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 79, 0, byte(v)}), 32)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := r.open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	for _, in := range r.instances {
		if err := in.setup(); err != nil {
			t.Fatal(err)
		}
	}
	rx := func() uint64 {
		l, err := sink.Handle().LinkByName("s0")
		if err != nil {
			t.Fatal(err)
		}
		return l.Attrs().Statistics.RxPackets
	}
	now := time.Now().Truncate(time.Second) // on the advert grid (coalesce)
	r.lock()
	for _, in := range r.instances {
		in.m.Start(now) // owners: master at once, first advert out
		in.resched()
	}
	r.unlock()
	rx0 := rx()
	// The far end reads them as an lvskit backup would.
	var far *rawConn
	err = inNS(sink.Path(), func() error {
		ifi, err := net.InterfaceByName("s0")
		if err == nil {
			far, err = listenRaw(ifi, false)
		}
		if err == nil {
			err = far.join(MulticastIPv4)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { far.close() })
	batch := new(rxBatch)
	var p Packet
	pfd := []unix.PollFd{{Fd: int32(far.fd), Events: unix.POLLIN}}
	var bad string
	src := netip.MustParseAddr("10.78.0.1")
	tick := r.tick
	const runs = 50
	allocs := testing.AllocsPerRun(runs, func() {
		now = now.Add(time.Second)
		r.lock()
		r.sched.fire(now, len(r.instances)+1, tick)
		r.unlock()
		for got := 0; got < n; {
			// A lost advert fails the test, not hangs it.
			if k, err := unix.Poll(pfd, 30000); err != nil || k == 0 {
				bad = fmt.Sprint("no advert: ", err)
				return
			}
			m, err := far.recv(batch)
			if err != nil {
				bad = err.Error()
				return
			}
			for i := range m {
				msg, info, ts, err := far.packet(batch, i)
				if err != nil {
					bad = err.Error()
					return
				}
				if _, reason := Parse(msg, info, &p); reason != DropNone || info.Src != src || info.Dst != MulticastIPv4 ||
					info.IfIndex != far.ifi.Index || p.Priority != 255 || ts <= 0 {
					bad = "bad advert"
					return
				}
			}
			got += m
		}
	})
	if bad != "" {
		t.Fatal(bad)
	}
	if allocs != 0 {
		t.Errorf("%v allocations per round of %d adverts, want 0", allocs, n)
	}
	for _, in := range r.instances {
		st := in.Stats()
		// AllocsPerRun runs the function once more to warm up.
		if st.State != StateMaster || st.AdvertsSent != runs+2 || st.SendErrors != 0 {
			t.Fatalf("%s: %+v, want master with %d adverts sent", in.Name(), st, runs+2)
		}
	}
	// The far end sees every advert (veth delivers synchronously; poll
	// briefly all the same).
	want := rx0 + (runs+1)*n
	waitFor(t, 5*time.Second, "the adverts to arrive", func() bool { return rx() >= want })
}

// TestDownTimerFromKernelTimestamp shows that a backup's Master_Down_Timer
// restarts from when the kernel received the master's advert, not from
// when the reader got to it: an advert left waiting in the socket for
// 50 ms (as between two grid ticks of the batched reader) still counts
// from its arrival. It also shows the scheduler's drain: the advert is
// heard by drainAll, the call the scheduler makes before a
// Master_Down_Timer fires.
func TestDownTimerFromKernelTimestamp(t *testing.T) {
	testenv.NeedRoot(t)
	h, sink := netns.New(t), netns.New(t)
	netns.Veth(t, h, "eth0", sink, "s0")
	h.AddAddr("eth0", netip.MustParsePrefix("10.78.0.1/24"))
	sink.AddAddr("s0", netip.MustParsePrefix("10.78.0.2/24"))
	r, err := NewRouter(&RouterConfig{NetNS: h.Path()})
	if err != nil {
		t.Fatal(err)
	}
	in, err := r.Add(Config{Name: "VI_1", Interface: "eth0", VRID: 7, Version: 3, Priority: 100,
		Interval: 100 * time.Millisecond, VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.79.0.7/32")}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	if err := in.setup(); err != nil {
		t.Fatal(err)
	}
	r.lock()
	in.m.Start(time.Now())
	in.resched()
	r.unlock()
	if in.m.State() != StateBackup {
		t.Fatalf("state %v, want backup", in.m.State())
	}
	// The master's advert, from the far end.
	var pc *ipv4.PacketConn
	err = sink.Do(func() error {
		c, err := net.ListenPacket("ip4:112", "0.0.0.0")
		if err != nil {
			return err
		}
		ifi, err := net.InterfaceByName("s0")
		if err != nil {
			return err
		}
		pc = ipv4.NewPacketConn(c)
		return errors.Join(pc.SetMulticastTTL(255), pc.SetMulticastInterface(ifi))
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	adv, err := (&Packet{Version: 3, VRID: 7, Priority: 200, Interval: 100 * time.Millisecond,
		Addrs: []netip.Addr{netip.MustParseAddr("10.79.0.7")}}).AppendTo(nil, netip.MustParseAddr("10.78.0.2"), MulticastIPv4, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The kernel turns receive timestamps on through deferred work when
	// the first socket asks for them (net_enable_timestamp); a packet
	// that arrives before that is stamped when it is read. A router's
	// sockets live long, so only a test this quick can see it: give the
	// work time to run.
	time.Sleep(100 * time.Millisecond)
	sent := time.Now()
	if _, err := pc.WriteTo(adv, nil, &net.IPAddr{IP: MulticastIPv4.AsSlice()}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the advert waits in the socket
	read := time.Now()
	r.drainAll()
	if got := in.Stats().AdvertsReceived; got != 1 {
		t.Fatalf("%d adverts heard, want 1", got)
	}
	r.lock()
	deadline, mdi := in.m.Deadline(), in.m.MasterDownInterval()
	r.unlock()
	heard := deadline.Add(-mdi)
	// veth delivers at once: the advert's time is when it was sent (give
	// or take a loaded host's scheduling), not when it was read 50 ms
	// later.
	if heard.Before(sent.Add(-time.Millisecond)) || heard.Sub(sent) > 10*time.Millisecond || read.Sub(heard) < 40*time.Millisecond {
		t.Fatalf("Master_Down_Timer restarted from %v after sending (read at %v), want at the sending",
			heard.Sub(sent), read.Sub(sent))
	}
}
