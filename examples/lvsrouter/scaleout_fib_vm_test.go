//go:build vm

package main

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// fibWatch records, from the kernel's netlink route events in the
// upstream router's namespace, when zebra changed the VIP's route and to
// which next hops: the moment traffic really moves, timed by the kernel
// rather than by polling vtysh (slow on a loaded single-vCPU guest).
type fibWatch struct {
	mu     sync.Mutex
	events []fibEvent
	done   chan struct{}
}

type fibEvent struct {
	at   time.Time
	hops []netip.Addr // nil: route deleted
}

func watchFIB(t testing.TB, ns *netns.NS, dst netip.Prefix) *fibWatch {
	t.Helper()
	w := &fibWatch{done: make(chan struct{})}
	ch := make(chan netlink.RouteUpdate, 256)
	h := vns.NsHandle(ns.FD())
	if err := netlink.RouteSubscribeWithOptions(ch, w.done, netlink.RouteSubscribeOptions{Namespace: &h, ReceiveBufferSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(w.done) })
	go func() {
		for u := range ch {
			if u.Route.Dst == nil || u.Route.Dst.String() != dst.String() {
				continue
			}
			ev := fibEvent{at: time.Now()}
			if u.Type == unix.RTM_NEWROUTE {
				if gw, ok := netip.AddrFromSlice(u.Route.Gw); ok && u.Route.Gw != nil {
					ev.hops = append(ev.hops, gw.Unmap())
				}
				for _, nh := range u.Route.MultiPath {
					if gw, ok := netip.AddrFromSlice(nh.Gw); ok {
						ev.hops = append(ev.hops, gw.Unmap())
					}
				}
				slices.SortFunc(ev.hops, netip.Addr.Compare)
			}
			w.mu.Lock()
			w.events = append(w.events, ev)
			w.mu.Unlock()
		}
	}()
	return w
}

// changedAfter returns when the route first became want after t0 (want
// empty: deleted), or false.
func (w *fibWatch) changedAfter(t0 time.Time, want ...netip.Addr) (time.Time, bool) {
	want = sortedAddrs(want...)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ev := range w.events {
		if ev.at.After(t0) && fmt.Sprint(ev.hops) == fmt.Sprint(want) {
			return ev.at, true
		}
	}
	return time.Time{}, false
}

// waitChange waits (bounded) for changedAfter.
func (w *fibWatch) waitChange(t testing.TB, t0 time.Time, within time.Duration, want ...netip.Addr) time.Duration {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if at, ok := w.changedAfter(t0, want...); ok {
			return at.Sub(t0)
		}
		if time.Now().After(deadline) {
			w.mu.Lock()
			defer w.mu.Unlock()
			t.Fatalf("the kernel route to the VIP never became %v after %s; events %v", want, t0.Format("15:04:05.000"), w.events)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
