package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/vrrp"
	"golang.org/x/net/dns/dnsmessage"
)

func loadOK(t *testing.T, path string) *Plan {
	t.Helper()
	p, warnings, err := load(path, anyInterface)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("load %s: %v %v", path, err, warnings)
	}
	return p
}

func service(t *testing.T, p *Plan, desc string) VirtualService {
	t.Helper()
	for _, vs := range p.Services {
		if vs.Description() == desc {
			return vs
		}
	}
	var have []string
	for _, vs := range p.Services {
		have = append(have, vs.Description())
	}
	t.Fatalf("no service %q in %v", desc, have)
	return VirtualService{}
}

// TestTranslateFeatures translates testdata/features.conf, which pulls its
// virtual servers in through an include, and checks each keepalived
// feature lands where lvsrouter's packages expect it.
func TestTranslateFeatures(t *testing.T) {
	p := loadOK(t, "testdata/features.conf")

	t.Run("vrrp", func(t *testing.T) {
		if len(p.Instances) != 3 {
			t.Fatalf("%d instances", len(p.Instances))
		}
		ext, v6 := p.Instances[0], p.Instances[2]
		if diff := cmp.Diff([]vrrp.TrackInterface{{Name: "eth1", Weight: -30}}, ext.TrackInterfaces); diff != "" {
			t.Errorf("track_interface (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(vrrp.Notify{Master: []string{"/usr/local/bin/notify", "master", "EXT"}, Notify: []string{"/usr/local/bin/notify-all"}, User: "root"}, ext.Notify); diff != "" {
			t.Errorf("notify (-want +got):\n%s", diff)
		}
		want := []vrrp.TrackScript{{Name: "chk_haproxy", Command: []string{"/bin/sh", "-c", "kill -0 $(cat /run/haproxy.pid)"},
			Interval: 2 * time.Second, Rise: 1, Fall: 2, Weight: -20, User: "root"}}
		if diff := cmp.Diff(want, v6.TrackScripts); diff != "" {
			t.Errorf("track_script (-want +got):\n%s", diff)
		}
		if v6.Version != 3 || v6.Interval != 500*time.Millisecond || !v6.NoPreempt || v6.VIPs[0].Prefix != netip.MustParsePrefix("fd00::10/64") {
			t.Errorf("V6 = %+v", v6)
		}
		if diff := cmp.Diff([]SyncGroup{{Name: "VG1", Members: []string{"EXT", "INT"}}}, p.SyncGroups); diff != "" {
			t.Errorf("sync groups (-want +got):\n%s", diff)
		}
	})
	t.Run("fwmark", func(t *testing.T) {
		v4 := service(t, p, "FWM 80")
		if s := v4.Service; s.Family != ipvs.IPv4 || s.Scheduler != "wlc" || s.Flags != ipvs.FlagPersistent ||
			s.Timeout != 300*time.Second || s.Netmask != 0xffffff00 {
			t.Errorf("FWM 80 = %+v", s)
		}
		if d := v4.Reals[0].Dest; d.Addr != netip.MustParseAddrPort("10.1.0.11:0") || d.Forward != ipvs.Route || d.Weight != 2 {
			t.Errorf("FWM 80 real server %+v", d)
		}
		v6 := service(t, p, "FWM 81")
		if s := v6.Service; s.Family != ipvs.IPv6 || s.Netmask != 64 || s.Timeout != time.Minute {
			t.Errorf("FWM 81 = %+v", s)
		}
		if d := v6.Reals[0].Dest; d.Forward != ipvs.Tunnel || d.Addr.Addr() != netip.MustParseAddr("fd00:1::11") {
			t.Errorf("FWM 81 real server %+v", d)
		}
	})
	t.Run("group", func(t *testing.T) {
		var descs []string
		for _, vs := range p.Services {
			descs = append(descs, vs.Description())
		}
		for _, d := range []string{"tcp 10.0.0.20:80", "tcp 10.0.0.21:80", "tcp 10.0.0.22:80", "FWM 90"} {
			if !slices.Contains(descs, d) {
				t.Errorf("group WEB: no %s in %v", d, descs)
			}
		}
		vs := service(t, p, "tcp 10.0.0.21:80")
		if vs.Quorum != 3 || vs.Hysteresis != 1 ||
			!slices.Equal(vs.QuorumUp(), []string{"/usr/local/bin/quorum", "up"}) ||
			!slices.Equal(vs.QuorumDown(), []string{"/usr/local/bin/quorum", "down"}) {
			t.Errorf("quorum settings %+v", vs)
		}
		if vs.Sorry == nil || vs.Sorry.Addr != netip.MustParseAddrPort("10.1.0.99:80") || vs.Sorry.Forward != ipvs.Route {
			t.Errorf("sorry server %+v, want 10.1.0.99:80 (the service's port) DR", vs.Sorry)
		}
		r1, r2 := vs.Reals[0], vs.Reals[1]
		if !r1.Inhibit || !r2.Inhibit {
			t.Errorf("inhibit_on_failure of the virtual server not applied to its real servers: %v %v", r1.Inhibit, r2.Inhibit)
		}
		if up, down := r1.notify(); !slices.Equal(up, []string{"/usr/local/bin/rs", "up", "11"}) || !slices.Equal(down, []string{"/usr/local/bin/rs", "down", "11"}) {
			t.Errorf("notify_up/down %q %q", up, down)
		}
		pol := r1.Checks[0].Policy.(check.Keepalived)
		if !pol.Alpha || !pol.Omega {
			t.Errorf("alpha/omega not in policy %+v", pol)
		}
		urls, ok := r1.Checks[0].Checker.(allOf)
		if !ok || len(urls) != 2 {
			t.Fatalf("HTTP_GET with two urls: %#v", r1.Checks[0].Checker)
		}
		h0, h1 := urls[0].(*check.HTTP), urls[1].(*check.HTTP)
		if h0.Path != "/healthz" || h0.Addr != netip.MustParseAddrPort("10.1.0.11:80") || h0.Timeout != 2*time.Second ||
			h1.Path != "/ready" || h1.Digest != "9b3a0c85a887a256d6939da88aabd8cd" {
			t.Errorf("urls %+v %+v", h0, h1)
		}
		dns, ok := r2.Checks[0].Checker.(check.DNS)
		if !ok || dns.Addr != netip.MustParseAddrPort("10.1.0.12:53") || dns.Type != dnsmessage.TypeA || dns.Name != "www.example.com" {
			t.Errorf("DNS_CHECK = %#v", r2.Checks[0].Checker)
		}
	})
	t.Run("ipv6", func(t *testing.T) {
		vs := service(t, p, "tcp [fd00::10]:443")
		if vs.Service.Scheduler != "sh" || vs.Reals[0].Dest.Addr != netip.MustParseAddrPort("[fd00:1::21]:8443") {
			t.Errorf("IPv6 service %+v", vs)
		}
		h := vs.Reals[0].Checks[0].Checker.(*check.HTTP)
		if !h.TLS || h.Addr != netip.MustParseAddrPort("[fd00:1::21]:8443") {
			t.Errorf("SSL_GET %+v", h)
		}
	})
}

// TestTranslateErrors checks that what lvsrouter cannot run is refused
// with the place it is written at.
func TestTranslateErrors(t *testing.T) {
	for _, tc := range []struct{ name, conf, want string }{
		{"range backwards", "virtual_server_group G {\n  10.0.0.9-3 80\n}\nvirtual_server group G {\n  real_server 10.1.0.1 80 {\n  }\n}\n", ":2:3: virtual_server_group G: range ends before it starts"},
		{"bad granularity", "virtual_server 10.0.0.1 80 {\n  persistence_timeout 5\n  persistence_granularity 255.0.255.0\n  real_server 10.1.0.1 80 {\n  }\n}\n", ":3:27: persistence_granularity 255.0.255.0 is not a prefix netmask"},
		{"sync group member", "vrrp_sync_group G {\n  group {\n    NOPE\n  }\n}\n", ":3:5: virtual router NOPE specified in sync group G doesn't exist"},
		{"undefined group", "virtual_server group NOPE {\n  real_server 10.1.0.1 80 {\n  }\n}\n", `k.conf:1:1: virtual_server group "NOPE" is not defined`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k.conf")
			mustWrite(t, path, []byte(tc.conf))
			_, _, err := load(path, anyInterface)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestGranularity: persistence_granularity, read by keepalivedconf as a
// prefix length, becomes IPVS's netmask field: a mask for IPv4 services, a
// prefix length for IPv6 ones.
func TestGranularity(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		vs, gran, rs string
		want         uint32
	}{
		{"10.0.0.1 80", "255.255.255.0", "10.1.0.1 80", 0xffffff00},
		{"10.0.0.1 80", "255.255.255.255", "10.1.0.1 80", 0xffffffff},
		{"2001:db8::1 80", "64", "2001:db8::2 80", 64},
	} {
		conf := fmt.Sprintf("virtual_server %s {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n  persistence_timeout 60\n  persistence_granularity %s\n  real_server %s {\n  }\n}\n", tc.vs, tc.gran, tc.rs)
		path := filepath.Join(dir, "g.conf")
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := translateOnly(path)
		if err != nil {
			t.Fatalf("%s / %s: %v", tc.vs, tc.gran, err)
		}
		if got := p.Services[0].Service.Netmask; got != tc.want {
			t.Errorf("%s / %s: netmask %#x, want %#x", tc.vs, tc.gran, got, tc.want)
		}
	}
}

// TestQuorum drives keepalived's quorum with hysteresis through desired():
// quorum 3, hysteresis 1 is lost below 2 and regained at 4, the sorry
// server stands in meanwhile, and quorum_up / quorum_down and the real
// servers' notify_up / notify_down run on changes only.
func TestQuorum(t *testing.T) {
	sorry := ipvs.Destination{Addr: netip.MustParseAddrPort("10.9.9.9:80"), Weight: 1}
	rs := func(i, w int) RealServer {
		return RealServer{
			Dest:   ipvs.DestinationSettings{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), 80), Weight: w},
			Checks: []check.Target{{ID: fmt.Sprint(i)}},
			Notify: &RealNotify{Up: []string{"up", fmt.Sprint(i)}, Down: []string{"down", fmt.Sprint(i)}},
		}
	}
	p := &Plan{Services: []VirtualService{{
		Service: ipvs.ServiceSettings{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80")},
		Sorry:   &sorry, Quorum: 3, Hysteresis: 1,
		rare:  &vsRare{quorumUp: []string{"quorum", "up"}, quorumDown: []string{"quorum", "down"}},
		Reals: []RealServer{rs(1, 1), rs(2, 1), rs(3, 2)},
	}}}
	r := newRouter(slog.New(slog.DiscardHandler))
	r.plan = p
	step := func(down []int, wantDests string, wantEvents ...string) {
		t.Helper()
		clear(r.down)
		for _, d := range down {
			r.down[fmt.Sprint(d)] = true
		}
		var ds []string
		for _, d := range r.desired()[0].Destinations {
			ds = append(ds, d.Addr.Addr().String())
		}
		var ev []string
		for _, e := range r.events {
			ev = append(ev, strings.Join(e, " "))
		}
		r.events = nil
		if got := strings.Join(ds, " "); got != wantDests {
			t.Errorf("down %v: destinations %q, want %q", down, got, wantDests)
		}
		if !slices.Equal(ev, wantEvents) {
			t.Errorf("down %v: scripts %q, want %q", down, ev, wantEvents)
		}
	}
	step(nil, "10.1.0.1 10.1.0.2 10.1.0.3")                                       // weight 4
	step([]int{1}, "10.1.0.2 10.1.0.3", "down 1")                                 // 3: keeps quorum
	step([]int{1, 2}, "10.1.0.3", "down 2")                                       // 2 = 3-1: keeps quorum
	step([]int{1, 3}, "10.9.9.9", "up 2", "down 3", "quorum down")                // 1 < 2: lost
	step([]int{1}, "10.9.9.9", "up 3")                                            // 3 < 4: still lost
	step(nil, "10.1.0.1 10.1.0.2 10.1.0.3", "up 1", "quorum up")                  // 4: regained
	step([]int{1, 2, 3}, "10.9.9.9", "down 1", "down 2", "down 3", "quorum down") // all dead
}

// TestAllURLs checks HTTP_GET with several url blocks: the real server is
// up only while every url passes, as in keepalived.
func TestAllURLs(t *testing.T) {
	ready := true
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ready" && !ready {
			w.WriteHeader(503)
		}
		io.WriteString(w, "ok")
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := netip.MustParseAddrPort(ln.Addr().String())
	conf := fmt.Sprintf(`virtual_server 10.0.0.1 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    real_server %s %d {
        HTTP_GET {
            url {
                path /healthz
            }
            url {
                path /ready
            }
            connect_timeout 5
        }
    }
}
`, addr.Addr(), addr.Port())
	path := filepath.Join(t.TempDir(), "k.conf")
	mustWrite(t, path, []byte(conf))
	p := loadOK(t, path)
	c := p.Services[0].Reals[0].Checks[0].Checker
	if r := c.Check(context.Background()); !r.Up {
		t.Fatalf("both urls pass: %+v", r)
	}
	ready = false
	r := c.Check(context.Background())
	if r.Up || !strings.Contains(r.Reason, "url 2") {
		t.Fatalf("second url failing: %+v", r)
	}
}

// TestVRRPChanges checks the reload decision for VRRP: identical units
// keep running (a master stays master), units changed only in what vrrp
// updates in place are updated, otherwise changed or new ones (re)start,
// vanished ones stop.
func TestVRRPChanges(t *testing.T) {
	inst := func(name string, prio uint8) vrrp.Config {
		return vrrp.Config{Name: name, Interface: "eth0", VRID: prio, Priority: prio,
			VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.0.0.1/24")}}}
	}
	old := &Plan{
		Instances:  []vrrp.Config{inst("A", 100), inst("B", 100), inst("C", 100), inst("D", 100)},
		SyncGroups: []SyncGroup{{Name: "G", Members: []string{"A", "B"}}},
	}
	running := map[unitKey]vrrpUnit{}
	for _, u := range units(old) {
		running[u.Key] = u
	}
	if keep, update, stop, start := vrrpChanges(running, units(old)); len(keep) != 3 || len(update)+len(stop)+len(start) != 0 {
		t.Errorf("same plan: keep %v update %d stop %v start %d", keep, len(update), stop, len(start))
	}
	names := func(us []vrrpUnit) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.Key.String())
		}
		return out
	}
	// B's priority and C's VIPs change in place; D is gone, E is new.
	b := inst("B", 100)
	b.Priority = 110
	c := inst("C", 100)
	c.VIPs = append(c.VIPs, vrrp.VIP{Prefix: netip.MustParsePrefix("10.0.0.2/24")})
	c.TrackScripts = []vrrp.TrackScript{{Name: "chk", Command: []string{"/bin/true"}}}
	next := &Plan{
		Instances:  []vrrp.Config{inst("A", 100), b, c, inst("E", 100)},
		SyncGroups: []SyncGroup{{Name: "G", Members: []string{"A", "B"}}},
	}
	keep, update, stop, start := vrrpChanges(running, units(next))
	if len(keep) != 0 || !slices.Equal(names(update), []string{"group G", "instance C"}) ||
		!slices.Equal(stop, []unitKey{{Name: "D"}}) || !slices.Equal(names(start), []string{"instance E"}) {
		t.Errorf("B's priority and C's VIPs changed, D gone, E new: keep %q update %q stop %q start %q",
			keep, names(update), stop, names(start))
	}
	// A VRID or interface change cannot apply in place: restart.
	moved := inst("C", 100)
	moved.VRID = 7
	next = &Plan{
		Instances:  []vrrp.Config{inst("A", 100), inst("B", 100), moved, inst("D", 100)},
		SyncGroups: []SyncGroup{{Name: "G", Members: []string{"A", "B"}}},
	}
	keep, update, stop, start = vrrpChanges(running, units(next))
	if len(keep) != 2 || len(update) != 0 || !slices.Equal(stop, []unitKey{{Name: "C"}}) || !slices.Equal(names(start), []string{"instance C"}) {
		t.Errorf("C's VRID changed: keep %q update %q stop %q start %q", keep, names(update), stop, names(start))
	}
	if err := updatableUnit(running[unitKey{Name: "C"}], units(next)[1]); err == nil || !strings.Contains(err.Error(), "VRID") {
		t.Errorf("updatableUnit names the field: %v", err)
	}
	// A sync group's membership change restarts it.
	regroup := *old
	regroup.SyncGroups = []SyncGroup{{Name: "G", Members: []string{"B", "A"}}}
	if _, update, stop, _ := vrrpChanges(running, units(&regroup)); len(update) != 0 || !slices.Contains(stop, unitKey{Group: true, Name: "G"}) {
		t.Errorf("group reordered: update %q stop %q", names(update), stop)
	}
	// Only the IPVS part changed: nothing in VRRP moves.
	withService := *old
	withService.Services = []VirtualService{{Service: ipvs.ServiceSettings{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80")}}}
	if keep, update, stop, start := vrrpChanges(running, units(&withService)); len(keep) != 3 || len(update)+len(stop)+len(start) != 0 {
		t.Errorf("IPVS-only change: keep %v stop %v start %d", keep, stop, len(start))
	}
}

// TestConfigTest checks lvsrouter -t against keepalived -t's exit codes:
// 0 for a clean configuration, 5 for errors and for warnings.
func TestConfigTest(t *testing.T) {
	dir := t.TempDir()
	write := func(name, conf string) string {
		p := filepath.Join(dir, name)
		mustWrite(t, p, []byte(conf))
		return p
	}
	// -t checks interfaces against this host: name one it has.
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) == 0 {
		t.Fatalf("no interfaces: %v", err)
	}
	good := "vrrp_instance X {\n  interface " + ifs[len(ifs)-1].Name + "\n  virtual_router_id 5\n  priority 100\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n"
	for _, tc := range []struct {
		name, path string
		code       int
		msg        string
	}{
		{"clean", write("good.conf", good), 0, "1 VRRP instances, 0 virtual services: OK"},
		{"unknown keyword", write("warn.conf", strings.Replace(good, "priority 100", "foo bar", 1)), 5, "warn.conf:4:3: unknown keyword"},
		{"range", write("bad.conf", strings.Replace(good, "id 5", "id 500", 1)), 5, "bad.conf:3:"},
		{"braces", write("syn.conf", "vrrp_instance X {\n"), 5, "syn.conf:"},
		{"no protocol", write("udp.conf", "virtual_server 10.0.0.1 53 {\n  lb_algo rr\n  lb_kind DR\n  real_server 10.1.0.1 53 {\n  }\n}\n"), 5, "udp.conf:1:1: virtual_server without protocol: defaulting to UDP"},
		{"no lb_algo", write("algo.conf", "virtual_server 10.0.0.1 53 {\n  protocol UDP\n  lb_kind DR\n  real_server 10.1.0.1 53 {\n  }\n}\n"), 5, "algo.conf:1:1: virtual_server without lb_algo: defaulting to wlc"},
		{"no lb_kind", write("kind.conf", "virtual_server 10.0.0.1 53 {\n  protocol UDP\n  lb_algo rr\n  real_server 10.1.0.1 53 {\n  }\n}\n"), 5, "kind.conf:1:1: virtual_server without lb_kind: defaulting to NAT"},
		{"complete service", write("svc.conf", "virtual_server 10.0.0.1 53 {\n  protocol UDP\n  lb_algo rr\n  lb_kind DR\n  real_server 10.1.0.1 53 {\n  }\n}\n"), 0, "0 VRRP instances, 1 virtual services: OK"},
		{"missing file", filepath.Join(dir, "nosuch.conf"), 5, "nosuch.conf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			code := run([]string{"-t", "-f", tc.path}, io.Discard, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.msg) {
				t.Errorf("exit %d, want %d; stderr %q, want it to contain %q", code, tc.code, stderr.String(), tc.msg)
			}
		})
	}
}

// TestJSON checks that -json prints the plan: services with their real
// servers and named check types.
func TestJSON(t *testing.T) {
	var out, stderr bytes.Buffer
	if code := run([]string{"-json", "-f", "testdata/features.conf"}, &out, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got struct {
		Instances []struct{ Name string }
		Services  []struct {
			Description          string
			QuorumUp, QuorumDown []string
			Service              struct{ Scheduler string }
			Reals                []struct {
				Checks []struct{ ID, Type string }
			}
		}
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Instances) != 3 || len(got.Services) != 7 {
		t.Fatalf("%d instances, %d services", len(got.Instances), len(got.Services))
	}
	var types []string
	for _, s := range got.Services {
		for _, r := range s.Reals {
			for _, c := range r.Checks {
				types = append(types, c.Type)
			}
		}
	}
	for _, want := range []string{"main.allOf", "check.DNS", "check.HTTP"} {
		if !slices.Contains(types, want) {
			t.Errorf("check types %q lack %s", types, want)
		}
	}
	// The fields VirtualService keeps out of line or makes when asked.
	var quorum bool
	for _, s := range got.Services {
		if s.Description == "" || s.Service.Scheduler == "" {
			t.Errorf("service %+v: no description or scheduler", s)
		}
		quorum = quorum || slices.Equal(s.QuorumUp, []string{"/usr/local/bin/quorum", "up"}) &&
			slices.Equal(s.QuorumDown, []string{"/usr/local/bin/quorum", "down"})
	}
	if !quorum {
		t.Errorf("no service with its quorum scripts: %+v", got.Services)
	}
}
