package main

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/keepalivedconf"
	"github.com/lvskit/lvskit/vrrp"
)

func translateFile(t *testing.T, path string) (*Plan, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return translateData(t, path, data)
}

// parseFile parses a configuration file without following includes.
func parseFile(t *testing.T, path string) *keepalivedconf.File {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := keepalivedconf.Parse(path, data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// translateSupported translates a configuration without the statements
// lvsrouter refuses (keywords.go): the seed documents send mail, which
// lvsrouter refuses, and the rest of them must translate. It checks that
// the file as written is refused for exactly those statements.
func translateSupported(t *testing.T, path string) (*Plan, error) {
	t.Helper()
	f := parseFile(t, path)
	refused := refusedIn(f.Stmts)
	if len(refused) > 0 {
		cfg, _ := f.Config()
		if _, err := Translate(cfg); err == nil || !strings.Contains(err.Error(), "not supported by lvsrouter") {
			t.Fatalf("%s: refused keywords accepted: %v", path, err)
		}
	}
	drop := map[*keepalivedconf.Stmt]bool{}
	for _, r := range refused {
		drop[r.Stmt] = true
	}
	f.Stmts = dropStmts(f.Stmts, drop)
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	return Translate(cfg)
}

// dropStmts removes the statements in drop from list and every block in it.
func dropStmts(list []*keepalivedconf.Stmt, drop map[*keepalivedconf.Stmt]bool) []*keepalivedconf.Stmt {
	list = slices.DeleteFunc(list, func(s *keepalivedconf.Stmt) bool { return drop[s] })
	for _, s := range list {
		if s.Block != nil {
			s.Block.Stmts = dropStmts(s.Block.Stmts, drop)
		}
	}
	return list
}

// TestTranslateSeedNAT translates the seed document's NAT load balancer
// (section 4.1, LB1) and checks what the router would run.
func TestTranslateSeedNAT(t *testing.T) {
	p, err := translateSupported(t, "../../keepalivedconf/testdata/seed/nat_lb1_full.conf")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Instances) != 2 {
		t.Fatalf("%d instances", len(p.Instances))
	}
	ext := p.Instances[0]
	if ext.Name != "RH_EXT" || ext.Interface != "eth0" || ext.VRID != 50 || ext.Priority != 100 ||
		ext.Interval != time.Second || ext.AuthType != vrrp.AuthSimple || ext.AuthPass != "passw123" {
		t.Errorf("RH_EXT = %+v", ext)
	}
	if got := ext.VIPs[0].Prefix; got != netip.MustParsePrefix("10.0.0.1/32") {
		t.Errorf("RH_EXT VIP %v", got)
	}
	if diff := cmp.Diff([]SyncGroup{{Name: "VG1", Members: []string{"RH_EXT", "RH_INT"}}}, p.SyncGroups); diff != "" {
		t.Errorf("sync groups (-want +got):\n%s", diff)
	}
	if len(p.Services) != 1 {
		t.Fatalf("%d services", len(p.Services))
	}
	vs := p.Services[0]
	if s := vs.Service; s.Protocol != ipvs.TCP || s.Addr != netip.MustParseAddrPort("10.0.0.1:80") ||
		s.Scheduler != "rr" || s.Flags != 0 || s.FWMark != 0 {
		t.Errorf("service = %+v", s)
	}
	if len(vs.Reals) != 4 {
		t.Fatalf("%d real servers", len(vs.Reals))
	}
	for i, rs := range vs.Reals {
		addr := netip.MustParseAddrPort("192.168.1.2" + string(rune('0'+i)) + ":80")
		if rs.Dest.Addr != addr || rs.Dest.Forward != ipvs.Masquerade || rs.Dest.Weight != 1 {
			t.Errorf("real server %d = %+v", i, rs.Dest)
		}
		if len(rs.Checks) != 1 {
			t.Fatalf("real server %d: %d checks", i, len(rs.Checks))
		}
		tc, ok := rs.Checks[0].Checker.(check.TCP)
		if !ok || tc.Addr != addr || tc.Timeout != 10*time.Second {
			t.Errorf("check %d = %#v", i, rs.Checks[0].Checker)
		}
		if pol := rs.Checks[0].Policy.(check.Keepalived); pol.DelayLoop != 6*time.Second {
			t.Errorf("delay_loop %v", pol.DelayLoop)
		}
	}
}

// TestTranslateSeedDR checks the Direct Routing example (section 4.2).
func TestTranslateSeedDR(t *testing.T) {
	for _, f := range []string{"dr_master_vrrp.conf", "nat_lb2_full.conf"} {
		if _, err := translateSupported(t, "../../keepalivedconf/testdata/seed/"+f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestDesired checks how health decides the IPVS destinations: a dead
// server leaves, an inhibited one stays with weight 0, and the sorry
// server stands in when none is alive.
func TestDesired(t *testing.T) {
	sorry := ipvs.Destination{Addr: netip.MustParseAddrPort("10.9.9.9:80"), Weight: 1}
	p := &Plan{Services: []VirtualService{{
		Service: ipvs.ServiceSettings{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80"), Scheduler: "rr"},
		Sorry:   &sorry,
		Reals: []RealServer{
			{Dest: ipvs.DestinationSettings{Addr: netip.MustParseAddrPort("10.1.0.1:80"), Weight: 2}, Checks: []check.Target{{ID: "a"}}},
			{Dest: ipvs.DestinationSettings{Addr: netip.MustParseAddrPort("10.1.0.2:80"), Weight: 3}, Inhibit: true, Checks: []check.Target{{ID: "b"}}},
		},
	}}}
	r := newRouter(slog.New(slog.DiscardHandler))
	r.plan = p
	dests := func() string {
		var s []string
		for _, d := range r.desired()[0].Destinations {
			s = append(s, d.Addr.String()+"/"+string(rune('0'+d.Weight)))
		}
		return strings.Join(s, " ")
	}
	if got := dests(); got != "10.1.0.1:80/2 10.1.0.2:80/3" {
		t.Errorf("all up: %s", got)
	}
	r.down["b"] = true
	if got := dests(); got != "10.1.0.1:80/2 10.1.0.2:80/0" {
		t.Errorf("b down, inhibited: %s", got)
	}
	r.down["a"] = true
	// Quorum lost: the sorry server, and the inhibited real server kept
	// at weight 0 (as keepalived, TestVMLVSKeywordsMatchKeepalived).
	if got := dests(); got != "10.1.0.2:80/0 10.9.9.9:80/1" {
		t.Errorf("all down: %s", got)
	}
	r.down["a"], r.weight["a"] = false, 7
	if got := dests(); got != "10.1.0.1:80/7 10.1.0.2:80/0" {
		t.Errorf("dynamic weight: %s", got)
	}
}

// TestBadConfig shows that a configuration error names its place.
func TestBadConfig(t *testing.T) {
	path := t.TempDir() + "/bad.conf"
	mustWrite(t, path, []byte("vrrp_instance X {\n  interface lo\n  virtual_router_id 5\n  track_script {\n    nosuch\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n"))
	_, _, err := load(path, anyInterface)
	if err == nil || !strings.Contains(err.Error(), "bad.conf:5:") || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("error %v, want one naming bad.conf:5 and nosuch", err)
	}
	if code := run([]string{"-t", "-f", path}, io.Discard, io.Discard); code != exitConfigTest {
		t.Errorf("-t on a bad config: exit %d", code)
	}
}

// TestLoadRefusesDuplicateRealServer: two real servers at one address and
// port in one virtual server give two check targets of one ID, which the
// load refuses (as check.Monitor would), naming the target.
func TestLoadRefusesDuplicateRealServer(t *testing.T) {
	conf := "virtual_server 10.0.0.1 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n" +
		"    real_server 10.0.1.1 80 {\n        TCP_CHECK {\n        }\n    }\n" +
		"    real_server 10.0.1.1 80 {\n        TCP_CHECK {\n        }\n    }\n}\n"
	_, _, err := loadData("dup.conf", []byte(conf), anyInterface)
	if err == nil || !strings.Contains(err.Error(), `check "tcp 10.0.0.1:80 -> 10.0.1.1:80 #0": check: target already exists`) {
		t.Fatalf("load: %v, want the duplicate check target refused", err)
	}
}

// TestFirstLoadReportsEveryRealServer: the first load's report to the
// status state, made once the kernel change is made (reportOps), holds
// every real server up (no transition) and every service with quorum.
func TestFirstLoadReportsEveryRealServer(t *testing.T) {
	conf := "virtual_server 10.0.0.1 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n" +
		"    real_server 10.0.1.1 80 {\n        weight 1\n    }\n" +
		"    real_server 10.0.1.2 80 {\n        weight 1\n    }\n}\n" +
		"virtual_server 10.0.0.2 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n" +
		"    real_server 10.0.1.3 80 {\n        weight 1\n    }\n}\n"
	p, _, err := loadData("first.conf", []byte(conf), anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRouter(t.Context(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer r.mon.Close()
	r.applier = ipvs.NewApplier(&nullOps{})
	if err := r.Load(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if r.opsLater {
		t.Fatal("the first report is still pending after the load")
	}
	r.ops.mu.Lock()
	var up, n int
	for _, st := range r.ops.reals.all() {
		n++
		if st.up && st.transitions == 0 {
			up++
		}
	}
	quorum := 0
	for _, q := range r.ops.reals.services() {
		if q {
			quorum++
		}
	}
	r.ops.mu.Unlock()
	if n != 3 || up != 3 || quorum != 2 {
		t.Fatalf("reported %d real servers (%d up, no transition), %d services with quorum; want 3, 3, 2", n, up, quorum)
	}
}

// TestLoadRefusesDuplicateCheckIDs: a duplicate check target is refused
// in a service long enough for checkPlan to keep a set of its IDs, and
// across two virtual servers of one address (two services of one
// description).
func TestLoadRefusesDuplicateCheckIDs(t *testing.T) {
	vs := func(addr string, reals ...string) string {
		b := "virtual_server " + addr + " 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n"
		for _, rs := range reals {
			b += "    real_server " + rs + " 80 {\n        TCP_CHECK {\n        }\n    }\n"
		}
		return b + "}\n"
	}
	var many []string
	for i := 1; i <= 40; i++ {
		many = append(many, fmt.Sprintf("10.0.1.%d", i))
	}
	many = append(many, "10.0.1.7")
	for name, conf := range map[string]string{
		"long service": vs("10.0.0.1", many...),
		"two services": vs("10.0.0.1", "10.0.1.1") + vs("10.0.0.1", "10.0.1.1"),
	} {
		_, _, err := loadData("dup.conf", []byte(conf), anyInterface)
		if err == nil || !strings.Contains(err.Error(), "check: target already exists") {
			t.Errorf("%s: load: %v, want the duplicate check target refused", name, err)
		}
	}
}

// TestDistinctDescriptions: the services' descriptions are compared as
// describe writes them: the same firewall mark in two families, or the
// same address and protocol, is a repeat; a zone makes it say no.
func TestDistinctDescriptions(t *testing.T) {
	svc := func(s ipvs.ServiceSettings) VirtualService { return VirtualService{Service: s} }
	tcp := func(a string) VirtualService {
		return svc(ipvs.ServiceSettings{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort(a)})
	}
	for _, c := range []struct {
		svcs []VirtualService
		want bool
	}{
		{[]VirtualService{tcp("10.0.0.1:80"), tcp("10.0.0.1:443"), tcp("[::ffff:10.0.0.1]:80"), svc(ipvs.ServiceSettings{FWMark: 7})}, true},
		{[]VirtualService{tcp("10.0.0.1:80"), svc(ipvs.ServiceSettings{Protocol: ipvs.UDP, Addr: netip.MustParseAddrPort("10.0.0.1:80")})}, true},
		{[]VirtualService{tcp("10.0.0.1:80"), tcp("10.0.0.2:80"), tcp("10.0.0.1:80")}, false},
		{[]VirtualService{svc(ipvs.ServiceSettings{FWMark: 7}), svc(ipvs.ServiceSettings{FWMark: 7, Family: ipvs.IPv6})}, false},
		{[]VirtualService{tcp("[fe80::1%eth0]:80")}, false},
	} {
		descs := map[string]bool{}
		for i := range c.svcs {
			descs[c.svcs[i].Description()] = true
		}
		if got := distinctDescriptions(c.svcs); got != c.want {
			t.Errorf("%q: distinct %v, want %v", slices.Collect(maps.Keys(descs)), got, c.want)
		}
	}
}
