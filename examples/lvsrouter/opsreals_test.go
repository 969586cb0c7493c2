package main

import (
	"encoding/json"
	"fmt"
	"github.com/lvskit/lvskit/check"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/ipvs"
)

// opsPlanWith returns o's plan, or a copy of it with service k and its
// real server rs added when it lacks them, and the places of k and rs in
// it: service i, whose first real server is the k0-th, and rs its j-th.
func opsPlanWith(o *opsState, k ipvs.ServiceKey, rs netip.AddrPort) (p *Plan, i, k0, j int) {
	o.mu.Lock()
	p = o.reals.plan
	o.mu.Unlock()
	if p == nil {
		p = &Plan{}
	}
	for i := range p.Services {
		vs := &p.Services[i]
		if vs.Service.Key() != k {
			k0 += len(vs.Reals)
			continue
		}
		for j := range vs.Reals {
			if vs.Reals[j].Dest.Addr == rs {
				return p, i, k0, j
			}
		}
		if !rs.IsValid() {
			return p, i, k0, 0
		}
	}
	q := *p
	q.Services = slices.Clone(p.Services)
	i = slices.IndexFunc(q.Services, func(vs VirtualService) bool { return vs.Service.Key() == k })
	if i < 0 {
		q.Services = append(q.Services, VirtualService{Service: ipvs.ServiceSettings{Family: k.Family, Protocol: k.Protocol, Addr: k.Addr, FWMark: k.FWMark}})
		i = len(q.Services) - 1
	}
	vs := &q.Services[i]
	if rs.IsValid() {
		vs.Reals = append(slices.Clone(vs.Reals), RealServer{Dest: ipvs.DestinationSettings{Addr: rs}})
	}
	o.setPlan(p, &q, false)
	return opsPlanWith(o, k, rs)
}

// reportReal reports real server rs of service k to o as the router does:
// by its place in o's plan, to which it is added if missing.
func reportReal(o *opsState, k ipvs.ServiceKey, rs netip.AddrPort, up bool) {
	p, i, k0, j := opsPlanWith(o, k, rs)
	o.realStates(p, i, k0, []realChange{{int32(j), up}})
}

// reportService reports the quorum of service k to o as the router does.
func reportService(o *opsState, k ipvs.ServiceKey, up bool) {
	p, i, _, _ := opsPlanWith(o, k, netip.AddrPort{})
	o.serviceState(p, i, up)
}

// TestOpsRealsKeepsEveryAddress: what opsState remembers of real servers
// comes back under the same service and address, for IPv4, IPv6, an
// IPv4-mapped IPv6 address and a zoned one, with its transitions; and a
// service's quorum is listed once reported.
func TestOpsRealsKeepsEveryAddress(t *testing.T) {
	var o opsState
	s4 := ipvs.ServiceKey{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80")}
	s6 := ipvs.ServiceKey{Family: ipvs.IPv6, FWMark: 7}
	want := map[realKey]realStatus{}
	for _, k := range []realKey{
		{s4, netip.MustParseAddrPort("10.1.0.1:80")},
		{s4, netip.MustParseAddrPort("[::ffff:10.1.0.1]:80")},
		{s6, netip.MustParseAddrPort("[2001:db8::1]:0")},
		{s6, netip.MustParseAddrPort("[fe80::1%eth0]:0")},
	} {
		reportReal(&o, k.Service, k.Dest, true)
		reportReal(&o, k.Service, k.Dest, false)
		want[k] = realStatus{up: false, transitions: 1}
	}
	reportReal(&o, s4, netip.MustParseAddrPort("10.1.0.1:80"), true)
	want[realKey{s4, netip.MustParseAddrPort("10.1.0.1:80")}] = realStatus{up: true, transitions: 2}
	if got := maps.Collect(o.reals.all()); !maps.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	// Services: only the ones with a quorum reported are listed.
	reportService(&o, s6, false)
	if got, want := maps.Collect(o.reals.services()), map[ipvs.ServiceKey]bool{s6: false}; !maps.Equal(got, want) {
		t.Errorf("services %v, want %v", got, want)
	}
	reportService(&o, s6, true)
	reportService(&o, s4, true)
	if got, want := maps.Collect(o.reals.services()), map[ipvs.ServiceKey]bool{s4: true, s6: true}; !maps.Equal(got, want) {
		t.Errorf("services %v, want %v", got, want)
	}
	if got := maps.Collect(o.reals.all()); !maps.Equal(got, want) {
		t.Errorf("the services' quorum changed the real servers: %v", got)
	}
}

// lineFile is a notify FIFO that keeps its lines.
type lineFile struct{ lines []string }

func (f *lineFile) WriteString(s string) (int, error) {
	f.lines = append(f.lines, strings.TrimSuffix(s, "\n"))
	return len(s), nil
}
func (f *lineFile) Close() error { return nil }

// opsModel is what opsReals keeps, kept by service key and address: the
// maps opsReals replaced, which kept every state they were ever told.
type opsModel struct {
	reals    map[realKey]realStatus
	services map[ipvs.ServiceKey]bool
	lines    []string
}

func (m *opsModel) real(k ipvs.ServiceKey, rs netip.AddrPort, up bool) {
	st, seen := m.reals[realKey{k, rs}]
	if seen && st.up == up {
		return
	}
	if seen {
		st.transitions++
		m.lines = append(m.lines, fmt.Sprintf("RS %s %s %s", trio(rs, k.Protocol), vsString(k), upDown(up)))
	}
	st.up = up
	m.reals[realKey{k, rs}] = st
}

func (m *opsModel) service(k ipvs.ServiceKey, up bool) {
	if was, seen := m.services[k]; seen && was != up {
		m.lines = append(m.lines, fmt.Sprintf("VS %s %s", vsString(k), upDown(up)))
	}
	m.services[k] = up
}

// TestOpsRealsFollowLayouts: states kept by position in the plan read,
// over random plans (services and real servers added, removed, moved,
// reordered, an address moving to another service) and random reports,
// as a map keyed by service and address did: the same FIFO lines, the
// same real servers and services listed with the same states and
// transitions, those of earlier plans included. Plans of the same layout
// keep the states in place.
func TestOpsRealsFollowLayouts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]ipvs.ServiceKey, 6)
	for i := range keys {
		keys[i] = ipvs.ServiceKey{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 80)}
	}
	keys[5] = ipvs.ServiceKey{Family: ipvs.IPv6, FWMark: 9}
	addrs := make([]netip.AddrPort, 40)
	for i := range addrs {
		addrs[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(i + 1)}), 80)
	}
	addrs[39] = netip.MustParseAddrPort("[fe80::1%eth0]:80")
	randomPlan := func() *Plan {
		p := &Plan{}
		for _, i := range rng.Perm(len(keys))[:rng.IntN(len(keys)+1)] {
			k := keys[i]
			vs := VirtualService{Service: ipvs.ServiceSettings{Family: k.Family, Protocol: k.Protocol, Addr: k.Addr, FWMark: k.FWMark}}
			// long services too, which relayout finds addresses in by map
			for _, a := range rng.Perm(len(addrs))[:rng.IntN(len(addrs)+1)] {
				vs.Reals = append(vs.Reals, RealServer{Dest: ipvs.DestinationSettings{Addr: addrs[a]}})
			}
			p.Services = append(p.Services, vs)
		}
		return p
	}
	f := &lineFile{}
	o := opsState{fifo: &fifoWriter{all: f}}
	m := opsModel{reals: map[realKey]realStatus{}, services: map[ipvs.ServiceKey]bool{}}
	var p *Plan
	for step := range 400 {
		switch {
		case p == nil || rng.IntN(4) == 0:
			old := p
			p = randomPlan()
			o.setPlan(old, p, false)
		case rng.IntN(3) == 0:
			// a plan of the same layout (a weight edited)
			q := *p
			q.Services = slices.Clone(p.Services)
			old := p
			p = &q
			o.setPlan(old, p, true)
		case rng.IntN(2) == 0:
			// the same services and real servers in another order
			q := *p
			q.Services = slices.Clone(p.Services)
			rng.Shuffle(len(q.Services), func(i, j int) { q.Services[i], q.Services[j] = q.Services[j], q.Services[i] })
			for i := range q.Services {
				rs := slices.Clone(q.Services[i].Reals)
				rng.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
				q.Services[i].Reals = rs
			}
			old := p
			p = &q
			o.setPlan(old, p, false)
		}
		k := 0
		for i := range p.Services {
			vs := &p.Services[i]
			key := vs.Service.Key()
			var changes []realChange
			for j := range vs.Reals {
				if rng.IntN(3) == 0 {
					up := rng.IntN(2) == 0
					changes = append(changes, realChange{int32(j), up})
					m.real(key, vs.Reals[j].Dest.Addr, up)
				}
			}
			if len(changes) > 0 {
				o.realStates(p, i, k, changes)
			}
			if rng.IntN(2) == 0 {
				up := rng.IntN(2) == 0
				o.serviceState(p, i, up)
				m.service(key, up)
			}
			k += len(vs.Reals)
		}
		o.mu.Lock()
		reals, services := maps.Collect(o.reals.all()), maps.Collect(o.reals.services())
		o.mu.Unlock()
		if !maps.Equal(reals, m.reals) {
			t.Fatalf("step %d: real servers\n%v\nwant\n%v", step, reals, m.reals)
		}
		if !maps.Equal(services, m.services) {
			t.Fatalf("step %d: services %v, want %v", step, services, m.services)
		}
		if !slices.Equal(f.lines, m.lines) {
			t.Fatalf("step %d: FIFO lines\n%q\nwant\n%q", step, f.lines, m.lines)
		}
	}
	if len(m.lines) < 100 {
		t.Errorf("only %d lines: the test changes too little", len(m.lines))
	}
}

// statusReply is the status socket's answer (statusJSON).
type statusReply struct {
	VRRP []struct {
		Data  map[string]any
		Stats map[string]float64
	}
	RealServers []struct {
		Service, Real string
		Up            bool
		Transitions   int
	} `json:"real_servers"`
	Services []struct {
		Service string
		Quorum  bool
	}
}

// TestRouterOpsFollowReloads: through the router, a real server's FIFO
// lines and transitions follow it across reloads that reorder services
// and real servers and drop a service, whose real servers stay listed
// with their states and come back with them.
func TestRouterOpsFollowReloads(t *testing.T) {
	vs := func(n int, reals ...string) string {
		b := fmt.Sprintf("virtual_server 10.0.0.%d 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n", n)
		for _, rs := range reals {
			b += "    real_server " + rs + " 80 {\n        TCP_CHECK {\n        }\n    }\n"
		}
		return b + "}\n"
	}
	r := memRouter(t, newMemKernel())
	f := &lineFile{}
	r.ops.fifo = &fifoWriter{all: f}
	memLoad(t, r, vs(1, "10.1.1.1", "10.1.1.2")+vs(2, "10.1.2.1", "10.1.2.2"))
	health := func(svc, rs string, up bool) {
		t.Helper()
		for _, vs := range r.plan.Services {
			for _, real := range vs.Reals {
				if vs.Service.Addr.Addr().String() == svc && real.Dest.Addr.Addr().String() == rs {
					r.onCheck(check.Transition{ID: real.Checks[0].ID, Kind: check.StateChange, Up: up})
				}
			}
		}
		if err := r.apply(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	status := func() string {
		var st statusReply
		if err := json.Unmarshal(r.ops.statusJSON(), &st); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(st.RealServers, st.Services)
	}
	health("10.0.0.2", "10.1.2.1", false)
	health("10.0.0.2", "10.1.2.2", false)
	memLoad(t, r, vs(3, "10.1.3.1")+vs(2, "10.1.2.2", "10.1.2.1"))
	health("10.0.0.2", "10.1.2.1", true)
	memLoad(t, r, vs(1, "10.1.1.1", "10.1.1.2")+vs(2, "10.1.2.1", "10.1.2.2"))
	health("10.0.0.1", "10.1.1.2", false)
	want := []string{
		"RS [10.1.2.1]:tcp:80 [10.0.0.2]:tcp:80 DOWN",
		"RS [10.1.2.2]:tcp:80 [10.0.0.2]:tcp:80 DOWN",
		"VS [10.0.0.2]:tcp:80 DOWN",
		"RS [10.1.2.1]:tcp:80 [10.0.0.2]:tcp:80 UP",
		"VS [10.0.0.2]:tcp:80 UP",
		"RS [10.1.1.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN",
	}
	if !slices.Equal(f.lines, want) {
		t.Errorf("FIFO lines\n%q\nwant\n%q", f.lines, want)
	}
	const wantStatus = "[{[10.0.0.1]:tcp:80 [10.1.1.1]:tcp:80 true 0} {[10.0.0.1]:tcp:80 [10.1.1.2]:tcp:80 false 1} " +
		"{[10.0.0.2]:tcp:80 [10.1.2.1]:tcp:80 true 2} {[10.0.0.2]:tcp:80 [10.1.2.2]:tcp:80 false 1} " +
		"{[10.0.0.3]:tcp:80 [10.1.3.1]:tcp:80 true 0}] " +
		"[{[10.0.0.1]:tcp:80 true} {[10.0.0.2]:tcp:80 true} {[10.0.0.3]:tcp:80 true}]"
	if got := status(); got != wantStatus {
		t.Errorf("status\n%s\nwant\n%s", got, wantStatus)
	}
}
