//go:build vm

package main

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/ipvs"
)

// waitDests waits (bounded) until the director's VIP service has exactly
// these destinations with these weights ("addr*weight" as mhConfig).
func (d *director) waitDests(reals ...string) *ipvs.Service {
	d.t.Helper()
	want := map[netip.Addr]int{}
	for _, r := range reals {
		a, ws, ok := strings.Cut(r, "*")
		w := 1
		if ok {
			w, _ = strconv.Atoi(ws)
		}
		want[netip.MustParseAddr(a)] = w
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		s := d.service()
		got := map[netip.Addr]int{}
		if s != nil {
			for _, x := range s.Destinations {
				got[x.Addr.Addr()] = x.Weight
			}
		}
		if s != nil && fmt.Sprint(got) == fmt.Sprint(want) {
			return s
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("director %v: destinations %v, want %v", d.addr, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestVMMaglevTablesIdentical: three directors (namespaces, each with its
// own IPVS) run lvsrouter with the same four real servers of one mh
// service, listed in different orders, started in different orders and
// brought there by different reloads (servers added one by one, removed
// and added back in the middle of the order, a weight changed and changed
// back). Their kernels end with the same destination list order, so sched's
// kernel-exact mh predicts the same table for all three (compared over all
// 65,536 source ports, which covers every one of the 4,093 slots), and one
// SYN per source port sent through each director shows the kernel choosing
// the predicted real server. A fourth namespace given the same servers by
// plain ipvsadm-style additions in another order picks differently for
// some flows: the order does matter.
func TestVMMaglevTablesIdentical(t *testing.T) {
	testenv.NeedVM(t)
	lan := netns.NewSwitch(t)
	client := netns.New(t)
	lan.Connect(client, "eth0", netip.MustParsePrefix("10.0.0.5/24"))
	var dirs []*director
	for i := range 3 {
		ns := netns.New(t)
		lan.Connect(ns, "eth0", netip.PrefixFrom(soDirector(i), 24))
		ns.AddAddr("lo", netip.PrefixFrom(soVIP, 32))
		dirs = append(dirs, newDirector(t, ns, soDirector(i), ""))
	}
	r := func(i int) string { return soReal(i).String() }
	r2 := func(i int) string { return soReal(i).String() + "*2" }
	final := []string{r(0), r2(1), r(2), "10.0.0.24"}
	// Director 2 starts first, with the servers in reverse order.
	mustWrite(t, dirs[2].conf, []byte(mhConfig("", "10.0.0.24", r(2), r2(1), r(0))))
	dirs[2].start()
	dirs[2].waitDests(final...)
	// Director 1 starts with one server and grows by reloads.
	mustWrite(t, dirs[1].conf, []byte(mhConfig("", r(2))))
	dirs[1].start()
	dirs[1].waitDests(r(2))
	dirs[1].reload(mhConfig("", r2(1), r(2)))
	dirs[1].waitDests(r2(1), r(2))
	dirs[1].reload(mhConfig("", "10.0.0.24", r2(1), r(0), r(2)))
	dirs[1].waitDests(final...)
	// Director 0 starts last, in address order.
	mustWrite(t, dirs[0].conf, []byte(mhConfig("", final...)))
	dirs[0].start()
	dirs[0].waitDests(final...)
	// Director 2 loses a server in the middle and gets it back, and has a
	// weight changed and changed back.
	dirs[2].reload(mhConfig("", "10.0.0.24", r(2), r(0)))
	dirs[2].waitDests("10.0.0.24", r(2), r(0))
	dirs[2].reload(mhConfig("", r(0), r2(1), r(2), "10.0.0.24"))
	dirs[2].waitDests(final...)
	dirs[2].reload(mhConfig("", r(0), r2(1), r(2)+"*3", "10.0.0.24"))
	dirs[2].waitDests(r(0), r2(1), r(2)+"*3", "10.0.0.24")
	dirs[2].reload(mhConfig("", "10.0.0.24", r(0), r(2), r2(1)))
	dirs[2].waitDests(final...)

	// The control: the same servers added in another order, no lvsrouter.
	ctl := netns.New(t)
	lan.Connect(ctl, "eth0", netip.MustParsePrefix("10.0.0.19/24"))
	ctl.AddAddr("lo", netip.PrefixFrom(soVIP, 32))
	c, err := ipvs.Dial(t.Context(), &ipvs.Config{NetNS: ctl.Path()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(soVIP, 80), Scheduler: "mh", Flags: ipvs.FlagMHPort}
	if err := c.NewService(t.Context(), svc); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{1, 3, 0, 2} {
		w := 1
		if i == 1 {
			w = 2
		}
		d := ipvs.Destination{Addr: netip.AddrPortFrom(soReal(i), 80), Forward: ipvs.Route, Weight: w}
		if err := c.NewDestination(t.Context(), svc, d); err != nil {
			t.Fatal(err)
		}
	}

	nss := []*netns.NS{dirs[0].ns, dirs[1].ns, dirs[2].ns, ctl}
	var keys []string
	var tables [][]netip.Addr
	for i := range nss {
		var s *ipvs.Service
		if i < 3 {
			s = dirs[i].service()
		} else {
			svcs, err := c.Dump(t.Context())
			if err != nil || len(svcs) != 1 {
				t.Fatalf("control dump: %v %v", svcs, err)
			}
			s = &svcs[0]
		}
		keys = append(keys, ipvs.MaglevTableKey(s))
		tables = append(tables, mhPredict(t, s, netip.MustParseAddr("10.0.0.5")))
	}
	for i := 1; i < 3; i++ {
		if keys[i] != keys[0] {
			t.Errorf("director %d's list %s, director 0's %s", i, keys[i], keys[0])
		}
		if !slices.Equal(tables[i], tables[0]) {
			t.Errorf("director %d's predicted table differs from director 0's", i)
		}
	}
	t.Logf("directors' list (head first): %s; control's: %s", keys[0], keys[3])
	ctlDiff := 0
	for p := range tables[0] {
		if tables[3][p] != tables[0][p] {
			ctlDiff++
		}
	}
	if ctlDiff == 0 {
		t.Error("the control's table equals the directors': the test cannot tell orders apart")
	}
	t.Logf("control: %d of 65536 source ports map to another real server (%.1f%%)", ctlDiff, 100*float64(ctlDiff)/65536)

	// The kernel's own choices, one SYN per source port through each.
	var ports []uint16
	for p := uint16(20000); p < 20000+400; p++ {
		ports = append(ports, p)
	}
	agree := 0
	for i, ns := range nss {
		gw := "10.0.0.19"
		if i < 3 {
			gw = soDirector(i).String()
		}
		if out, err := client.Command(t.Context(), "ip", "route", "replace", soVIP.String()+"/32", "via", gw).CombinedOutput(); err != nil {
			t.Fatalf("route: %v %s", err, out)
		}
		got := synProbe(t, client, ns, ports)
		missing, wrong, ctlOther := 0, 0, 0
		for _, p := range ports {
			k, ok := got[p]
			if !ok {
				missing++
				continue
			}
			if k != tables[i][p] {
				wrong++
				t.Logf("namespace %d: source port %d went to %v, predicted %v", i, p, k, tables[i][p])
			}
			if i == 3 && k != tables[0][p] {
				ctlOther++
			}
		}
		if missing > 0 || wrong > 0 {
			t.Errorf("namespace %d: of %d probes, %d never reached the director after three passes and %d were not on the predicted real server", i, len(ports), missing, wrong)
		} else {
			agree++
		}
		if i == 3 {
			t.Logf("control: the kernel sent %d of %d probed flows to another real server than the directors would", ctlOther, len(ports))
			if ctlOther == 0 {
				t.Error("the control's kernel agrees with the directors on every probe")
			}
		}
	}
	t.Logf("%d of 4 kernels chose the predicted real server for all %d probed flows", agree, len(ports))
}
