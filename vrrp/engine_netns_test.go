//go:build netns

package vrrp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// TestAdvertPathNoAlloc drives a Router's engine by hand (no goroutines,
// so that nothing else allocates meanwhile) through steady-state master
// adverts on real sockets: firing the timers, queueing the prebuilt
// adverts and sending them in one sendmmsg per socket must not allocate,
// and every advert must reach the far end of the veth.
func TestAdvertPathNoAlloc(t *testing.T) {
	testenv.NeedRoot(t)
	h, sink := netns.New(t), netns.New(t)
	netns.Veth(t, h, "eth0", sink, "s0")
	h.AddAddr("eth0", netip.MustParsePrefix("10.78.0.1/24"))
	r := NewRouter(RouterConfig{NetNS: h.Path()})
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
	tick := r.tick
	const runs = 50
	allocs := testing.AllocsPerRun(runs, func() {
		now = now.Add(time.Second)
		r.lock()
		r.sched.fire(now, len(r.instances)+1, tick)
		r.unlock()
	})
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
