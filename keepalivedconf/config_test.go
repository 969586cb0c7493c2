package keepalivedconf

import (
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignoreSyntax compares typed values without their syntax pointers.
var ignoreSyntax = cmp.Options{
	cmp.Comparer(func(a, b *Stmt) bool { return true }),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	cmpopts.IgnoreUnexported(Config{}),
	cmpopts.IgnoreFields(Config{}, "Unknown", "Warnings"),
	cmpopts.EquateEmpty(),
}

func mustConfig(t *testing.T, path string) (*Config, []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := Parse(filepath.Base(path), data)
	cfg, err := f.Config()
	// errors and warnings in one list, by place, each with its kind
	var all ErrorList
	if err != nil {
		all = append(all, err.(ErrorList)...)
	}
	nerr := len(all)
	all = append(all, cfg.Warnings...)
	type tagged struct {
		e    Error
		kind string
	}
	var list []tagged
	for i, e := range all {
		k := "error"
		if i >= nerr {
			k = "warning"
		}
		list = append(list, tagged{e, k})
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i].e.Pos, list[j].e.Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	var msgs []string
	for _, d := range list {
		msgs = append(msgs, d.e.Pos.String()+": "+d.kind+": "+d.e.Msg)
	}
	return cfg, msgs
}

var (
	ntGlobal = &GlobalDefs{
		NotificationEmail:     []string{"admin@example.com"},
		NotificationEmailFrom: "noreply@example.com",
		SMTPServer:            "127.0.0.1",
		SMTPConnectTimeout:    60 * time.Second,
	}
	drGlobal = &GlobalDefs{
		NotificationEmail:     []string{"admin@example.com"},
		NotificationEmailFrom: "noreply_admin@example.com",
		SMTPServer:            "127.0.0.1",
		SMTPConnectTimeout:    60 * time.Second,
	}
	vg1 = []*SyncGroup{{Name: "VG1", Group: []string{"RH_EXT", "RH_INT"}}}
)

func inst(name string, state State, ifname string, vrid, prio int, vip string) *VRRPInstance {
	return &VRRPInstance{Name: name, State: state, Interface: ifname, VirtualRouterID: vrid, Priority: prio,
		AdvertInt: time.Second, AuthType: AuthTypePass, AuthPass: "passw123",
		VIPs: []VIP{{Prefix: netip.MustParsePrefix(vip + "/32")}}}
}

func natVS() *VirtualServer {
	vs := &VirtualServer{Addr: netip.MustParseAddrPort("10.0.0.1:80"), DelayLoop: 6 * time.Second, LBAlgo: "rr", LBKind: NAT, Protocol: TCP}
	for i := 20; i <= 23; i++ {
		vs.RealServers = append(vs.RealServers, &RealServer{
			Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 168, 1, byte(i)}), 80), Weight: 1,
			Checkers: []Checker{&TCPCheck{CheckCommon{ConnectTimeout: 10 * time.Second}}},
		})
	}
	return vs
}

func drVS() *VirtualServer {
	vs := &VirtualServer{Addr: netip.MustParseAddrPort("172.31.0.1:80"), DelayLoop: 10 * time.Second, LBAlgo: "rr", LBKind: DR,
		Protocol: TCP, PersistenceTimeout: 9600 * time.Second}
	for i := 1; i <= 3; i++ {
		vs.RealServers = append(vs.RealServers, &RealServer{
			Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 168, 0, byte(i)}), 80), Weight: 1,
			Checkers: []Checker{&TCPCheck{CheckCommon{ConnectTimeout: 10 * time.Second, ConnectPort: 80}}},
		})
	}
	return vs
}

// TestSeedConfigs asserts the typed values of every configuration of the
// seed document, and the diagnostics keepalived also gives for the broken
// ones (see testdata/seed/README).
func TestSeedConfigs(t *testing.T) {
	lb1 := []*VRRPInstance{inst("RH_EXT", StateMaster, "eth0", 50, 100, "10.0.0.1"), inst("RH_INT", StateMaster, "eth1", 2, 100, "192.168.1.1")}
	lb2 := []*VRRPInstance{inst("RH_EXT", StateBackup, "eth0", 50, 99, "10.0.0.1"), inst("RH_INT", StateBackup, "eth1", 2, 99, "192.168.1.1")}
	for _, tc := range []struct {
		file    string
		want    *Config
		diags   []string
		unknown []string
	}{
		{file: "nat_global_defs.conf", want: &Config{GlobalDefs: ntGlobal}},
		{file: "nat_lb1_vrrp.conf", want: &Config{SyncGroups: vg1, Instances: lb1}},
		{file: "nat_lb1_full.conf", want: &Config{GlobalDefs: ntGlobal, SyncGroups: vg1, Instances: lb1, VirtualServers: []*VirtualServer{natVS()}}},
		{file: "nat_lb2_full.conf", want: &Config{GlobalDefs: ntGlobal, SyncGroups: vg1, Instances: lb2, VirtualServers: []*VirtualServer{natVS()}}},
		{file: "nat_virtual_server.conf", want: &Config{VirtualServers: []*VirtualServer{natVS()}}},
		{file: "dr_master_vrrp.conf", want: &Config{GlobalDefs: drGlobal, Instances: []*VRRPInstance{inst("RH_1", StateMaster, "eth0", 50, 100, "172.31.0.1")}}},
		{file: "dr_backup_vrrp.conf", want: &Config{GlobalDefs: drGlobal, Instances: []*VRRPInstance{inst("RH_1", StateBackup, "eth0", 50, 99, "172.31.0.1")}}},
		{
			// the document forgot the '{' after virtual_server: keepalived
			// reads the block anyway but reports it
			file: "dr_master_virtual_server.conf", want: &Config{VirtualServers: []*VirtualServer{drVS()}},
			diags: []string{
				"dr_master_virtual_server.conf:1:1: error: missing '{' at beginning of virtual_server block",
				"dr_master_virtual_server.conf:29:1: error: extra '}' found",
			},
		},
		{
			file: "dr_backup_virtual_server.conf", want: &Config{VirtualServers: []*VirtualServer{drVS()}},
			diags: []string{
				"dr_backup_virtual_server.conf:1:1: error: extra '}' found",
				"dr_backup_virtual_server.conf:1:1: warning: unknown keyword '}'",
				"dr_backup_virtual_server.conf:3:1: error: missing '{' at beginning of virtual_server block",
				"dr_backup_virtual_server.conf:31:1: error: extra '}' found",
			},
			unknown: []string{"}"},
		},
		{
			// the document misspells vrrp_script and vrrp_instance
			file: "haproxy_keepalived.conf", want: &Config{},
			diags: []string{
				"haproxy_keepalived.conf:1:1: warning: unknown keyword 'vrp_script' (did you mean vrrp_script?)",
				"haproxy_keepalived.conf:7:1: warning: unknown keyword 'vrp_instance' (did you mean vrrp_instance?)",
			},
			unknown: []string{"vrp_script", "vrp_instance"},
		},
		{
			// first half of LB2's block, cut by a page break
			file: "nat_lb2_vrrp_part1.conf",
			want: &Config{SyncGroups: vg1, Instances: []*VRRPInstance{{Name: "RH_EXT", State: StateBackup, Interface: "eth0", Priority: 100, AdvertInt: time.Second}}},
			diags: []string{
				"nat_lb2_vrrp_part1.conf:1:1: warning: sync group VG1 has only 1 virtual router(s) - this probably isn't what you want",
				"nat_lb2_vrrp_part1.conf:4:5: error: virtual router RH_INT specified in sync group VG1 doesn't exist - ignoring",
				"nat_lb2_vrrp_part1.conf:8:1: error: (RH_EXT) the virtual router id must be set",
				"nat_lb2_vrrp_part1.conf:8:22: error: missing '}' for the block opened here",
			},
		},
		{
			file: "nat_lb2_vrrp_part2.conf",
			want: &Config{Instances: []*VRRPInstance{inst("RH_INT", StateBackup, "eth1", 2, 99, "192.168.1.1")}},
			diags: []string{
				"nat_lb2_vrrp_part2.conf:2:5: warning: unknown keyword 'virtual_router_id'",
				"nat_lb2_vrrp_part2.conf:3:5: warning: unknown keyword 'priority'",
				"nat_lb2_vrrp_part2.conf:4:5: warning: unknown keyword 'advert_int'",
				"nat_lb2_vrrp_part2.conf:5:5: warning: unknown keyword 'authentication'",
				"nat_lb2_vrrp_part2.conf:9:5: warning: unknown keyword 'virtual_ipaddress'",
				"nat_lb2_vrrp_part2.conf:12:1: error: extra '}' found",
				"nat_lb2_vrrp_part2.conf:12:1: warning: unknown keyword '}'",
			},
			unknown: []string{"virtual_router_id", "priority", "advert_int", "authentication", "virtual_ipaddress", "}"},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cfg, diags := mustConfig(t, filepath.Join("testdata/seed", tc.file))
			if d := cmp.Diff(tc.want, cfg, ignoreSyntax); d != "" {
				t.Errorf("typed view (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.diags, diags, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("diagnostics (-want +got):\n%s", d)
			}
			var unknown []string
			for _, s := range cfg.Unknown {
				unknown = append(unknown, s.Keyword())
			}
			if d := cmp.Diff(tc.unknown, unknown, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("unknown statements (-want +got):\n%s", d)
			}
		})
	}
}

func TestUnknownKeywordsPreserved(t *testing.T) {
	src := "vrrp_instance A {\n  interface lo\n  virtual_router_id 7\n  frobnicate 3 # keep me\n}\n"
	f, _ := Parse("u.conf", []byte(src))
	cfg, err := f.Config()
	if err != nil {
		t.Fatalf("unknown keyword is only a warning: %v", err)
	}
	if w := cfg.Warnings.Error(); !strings.Contains(w, "u.conf:4:3: unknown keyword 'frobnicate'") {
		t.Fatalf("warnings = %v", w)
	}
	if err := cfg.Instances[0].SetPriority(200); err != nil {
		t.Fatal(err)
	}
	want := src[:len(src)-2] + "  priority 200\n}\n"
	if got := string(f.Format()); got != want {
		t.Fatalf("edit:\n%s\nwant:\n%s", got, want)
	}
}

// parseSeconds takes a short cut for whole numbers; it must agree with
// strconv.ParseFloat everywhere.
func TestParseSecondsMatchesParseFloat(t *testing.T) {
	for _, w := range []string{"", "0", "6", "007", "3.5", "1e3", "+6", "-1", "0x10", "1_000", " 6", "6 ",
		"999999999999999", "9999999999999999", "123456789012345678901234", "inf", "NaN", "abc", "4294"} {
		got, gerr := parseSeconds(w)
		want, werr := strconv.ParseFloat(w, 64)
		if (gerr == nil) != (werr == nil) || (werr == nil && got != want && !(math.IsNaN(got) && math.IsNaN(want))) {
			t.Errorf("parseSeconds(%q) = %v, %v; ParseFloat gives %v, %v", w, got, gerr, want, werr)
		}
	}
}
