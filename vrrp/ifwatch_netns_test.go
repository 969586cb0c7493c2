//go:build netns

package vrrp

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/vishvananda/netlink"
)

// A Router's instances share its one netlink subscription: 200 instances
// following their interface and the source address they picked (and one
// a track_interface) hold a handful of sockets, not one subscription per
// tracker (each with a reading goroutine whose stack the netlink library
// grows to 128 KiB: 250 MiB for 1,000 instances), and each of them still
// sees its link go down, its source address go and both come back.
func TestInstancesShareOneSubscription(t *testing.T) {
	h, far := netns.New(t), netns.New(t)
	netns.Veth(t, h, "eth0", far, "s0")
	netns.Veth(t, h, "t0", far, "s1")
	src := netip.MustParsePrefix("10.80.0.1/24")
	h.AddAddr("eth0", src)
	const n = 200
	var cfgs []Config
	for v := 1; v <= n; v++ {
		vip := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 81, 0, byte(v)}), 32)
		cfgs = append(cfgs, Config{Name: fmt.Sprintf("VI_%d", v), Interface: "eth0", VRID: uint8(v), Version: 2,
			Priority: 100, Interval: time.Second, VIPs: []VIP{{Prefix: vip}}, GARP: GARP{Delay: -1}})
	}
	cfgs[0].TrackInterfaces = []TrackInterface{{Name: "t0"}}
	p := startChild(t, h, childSpec{Instances: cfgs})
	first, last := cfgs[0].Name, cfgs[n-1].Name
	const timeout = 15 * time.Second
	p.waitState(t, first, "MASTER", timeout)
	p.waitState(t, last, "MASTER", timeout)

	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.Cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	sockets := 0
	for _, fd := range fds {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", p.Cmd.Process.Pid, fd.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			sockets++
		}
	}
	if sockets > 20 {
		t.Errorf("%d instances hold %d sockets, want at most 20 (one subscription per Router)", n, sockets)
	}

	nl := h.Handle()
	link := func(name string) netlink.Link {
		t.Helper()
		l, err := nl.LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	// track_interface: only the instance tracking t0 faults.
	if err := nl.LinkSetDown(link("t0")); err != nil {
		t.Fatal(err)
	}
	p.waitState(t, first, "FAULT", timeout)
	if err := nl.LinkSetUp(link("t0")); err != nil {
		t.Fatal(err)
	}
	p.waitState(t, first, "MASTER", timeout)
	for _, tr := range p.transitions() {
		if tr.name != first && tr.state == "FAULT" {
			t.Fatalf("%s faulted with t0 down, which only %s tracks", tr.name, first)
		}
	}
	// Its own interface: every instance faults, and comes back.
	if err := nl.LinkSetDown(link("eth0")); err != nil {
		t.Fatal(err)
	}
	p.waitState(t, first, "FAULT", timeout)
	p.waitState(t, last, "FAULT", timeout)
	if err := nl.LinkSetUp(link("eth0")); err != nil {
		t.Fatal(err)
	}
	p.waitState(t, last, "MASTER", timeout)
	// The source address every instance picked.
	if err := nl.AddrDel(link("eth0"), &netlink.Addr{IPNet: ipNet(src)}); err != nil {
		t.Fatal(err)
	}
	p.waitState(t, first, "FAULT", timeout)
	p.waitState(t, last, "FAULT", timeout)
	h.AddAddr("eth0", src)
	p.waitState(t, first, "MASTER", timeout)
	p.waitState(t, last, "MASTER", timeout)
	p.stop(t)
}
