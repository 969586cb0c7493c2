package main

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/vrrp"
)

// vrrpNetUnitConf exercises every keyword plan_vrrpnet.go translates.
const vrrpNetUnitConf = `global_defs {
  vrrp_mcast_group4 224.0.0.19
  vrrp_mcast_group6 ff02::13
  vmac_prefix lvs
  vrrp_skip_check_adv_addr
}
static_ipaddress {
  192.0.2.1/24 dev eth1
}
static_routes {
  198.51.100.0/24 via 192.0.2.254
  blackhole 203.0.113.0/24
}
static_rules {
  from 192.0.2.0/24 lookup 200 priority 300
}
vrrp_instance A {
  interface eth0
  virtual_router_id 1
  use_vmac
  vmac_xmit_base
  mcast_src_ip 10.0.0.1
  virtual_ipaddress {
    10.0.0.100/24
  }
  virtual_ipaddress_excluded {
    2001:db8::100/64
    10.0.0.101/24 dev eth1
  }
  virtual_routes {
    src 10.0.0.100 to 10.9.0.0/16 via 10.0.0.254 dev eth0 table 7 metric 5 scope link protocol 99
    unreachable 10.8.0.0/16 no_track
  }
  virtual_rules {
    from 10.0.0.100 to 10.9.0.0/16 table 7 preference 50
  }
  track_interface {
    eth1 weight 10 reverse
  }
}
vrrp_instance B {
  interface eth0
  virtual_router_id 2
  use_vmac vmacb
  skip_check_adv_addr
  mcast_dst_ip 239.1.1.1
  unicast_src_ip 10.0.0.2
  virtual_ipaddress {
    10.0.0.200/24
  }
}
vrrp_instance C {
  interface eth0
  virtual_router_id 3
  virtual_ipaddress {
    2001:db8::200/64
  }
}
`

// TestVRRPNetTranslation: each keyword lands in the vrrp field that acts
// on it, with keepalived's defaults.
func TestVRRPNetTranslation(t *testing.T) {
	dir := t.TempDir()
	p, _, err := load(writeConf(t, dir, "net.conf", vrrpNetUnitConf), anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := p.Instances[0], p.Instances[1], p.Instances[2]
	if !a.VMAC || a.VMACName != "lvs.1" || !a.VMACXmitBase || a.Source != netip.MustParseAddr("10.0.0.1") ||
		a.Group != netip.MustParseAddr("224.0.0.19") {
		t.Errorf("A: vmac %v %q xmit_base %v, source %v, group %v", a.VMAC, a.VMACName, a.VMACXmitBase, a.Source, a.Group)
	}
	if a.CheckAddrs || !a.CheckNewMasterAddrs {
		t.Errorf("A (vrrp_skip_check_adv_addr): CheckAddrs %v, CheckNewMasterAddrs %v", a.CheckAddrs, a.CheckNewMasterAddrs)
	}
	if len(a.ExcludedVIPs) != 2 || a.ExcludedVIPs[0].Prefix != netip.MustParsePrefix("2001:db8::100/64") || a.ExcludedVIPs[1].Dev != "eth1" {
		t.Errorf("A excluded: %+v", a.ExcludedVIPs)
	}
	// A tracked route (dev, no no_track) keeps keepalived's protocol:
	// keepalived resets "protocol 99" to 18 ("Route cannot be tracked if
	// protocol is not RTPROT_KEEPALIVED"); a route without dev is not
	// tracked.
	wantRoutes := []vrrp.Route{
		{Dst: netip.MustParsePrefix("10.9.0.0/16"), Gw: netip.MustParseAddr("10.0.0.254"), Dev: "eth0", Table: 7, Metric: 5,
			Src: netip.MustParseAddr("10.0.0.100"), Scope: 253, Protocol: 18},
		{Dst: netip.MustParsePrefix("10.8.0.0/16"), Type: 7, Protocol: 18, NoTrack: true},
	}
	if len(a.Routes) != 2 || a.Routes[0] != wantRoutes[0] || a.Routes[1] != wantRoutes[1] {
		t.Errorf("A routes:\n%+v\nwant\n%+v", a.Routes, wantRoutes)
	}
	wantRule := vrrp.Rule{From: netip.MustParsePrefix("10.0.0.100/32"), To: netip.MustParsePrefix("10.9.0.0/16"), Table: 7, Priority: 50, Protocol: 18}
	if len(a.Rules) != 1 || a.Rules[0] != wantRule {
		t.Errorf("A rules: %+v, want %+v", a.Rules, wantRule)
	}
	if len(a.TrackInterfaces) != 1 || a.TrackInterfaces[0] != (vrrp.TrackInterface{Name: "eth1", Weight: 10, Reverse: true}) {
		t.Errorf("A track_interface: %+v", a.TrackInterfaces)
	}
	if b.VMACName != "vmacb" || b.VMACXmitBase || b.Group != netip.MustParseAddr("239.1.1.1") ||
		b.Source != netip.MustParseAddr("10.0.0.2") || b.CheckAddrs || !b.CheckNewMasterAddrs {
		t.Errorf("B: %q xmit %v group %v source %v check %v/%v", b.VMACName, b.VMACXmitBase, b.Group, b.Source, b.CheckAddrs, b.CheckNewMasterAddrs)
	}
	if c.Group != netip.MustParseAddr("ff02::13") {
		t.Errorf("C (IPv6) group %v", c.Group)
	}
	st := p.Static
	if len(st.Addrs) != 1 || st.Addrs[0].Dev != "eth1" || len(st.Routes) != 2 || st.Routes[1].Type != 6 ||
		len(st.Rules) != 1 || st.Rules[0].Table != 200 || st.Rules[0].Priority != 300 {
		t.Errorf("static: %+v", st)
	}

	// Without vrrp_skip_check_adv_addr, keepalived checks every advert's
	// addresses; without a group, the RFC's.
	plain := strings.Replace(strings.Replace(vrrpNetUnitConf, "  vrrp_skip_check_adv_addr\n", "", 1), "  vrrp_mcast_group4 224.0.0.19\n", "", 1)
	p, _, err = load(writeConf(t, dir, "plain.conf", plain), anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	if a := p.Instances[0]; !a.CheckAddrs || a.CheckNewMasterAddrs || a.Group.IsValid() {
		t.Errorf("A without the globals: CheckAddrs %v, CheckNewMasterAddrs %v, group %v", a.CheckAddrs, a.CheckNewMasterAddrs, a.Group)
	}
}

// TestVRRPNetRefusals: what lvsrouter cannot do is refused with its place
// and "not supported by lvsrouter".
func TestVRRPNetRefusals(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct{ from, to, at string }{
		"onlink":    {"unreachable 10.8.0.0/16 no_track", "10.8.0.0/16 via 10.0.0.254 dev eth0 onlink", ":32:5:"},
		"nexthop":   {"unreachable 10.8.0.0/16 no_track", "10.8.0.0/16 nexthop via 10.0.0.254 dev eth0", ":32:5:"},
		"rule":      {"from 10.0.0.100 to 10.9.0.0/16 table 7 preference 50", "fwmark 7 table 7 preference 50", ":35:5:"},
		"vmacaddr":  {"use_vmac vmacb", "use_vmac vmacb 02:00:00:00:00:01", ":44:"},
		"trackfile": {"track_interface {\n    eth1 weight 10 reverse", "track_file {\n    f weight 10 reverse", ":37:"},
	} {
		text := strings.Replace(vrrpNetUnitConf, c.from, c.to, 1)
		if name == "trackfile" {
			text = "vrrp_track_file f {\n  file /tmp/x\n}\n" + text
			c.at = ":41:"
		}
		_, _, err := load(writeConf(t, dir, name+".conf", text), anyInterface)
		if err == nil || !strings.Contains(err.Error(), "not supported by lvsrouter") || !strings.Contains(err.Error(), name+".conf"+c.at) {
			t.Errorf("%s: %v, want refused at %s", name, err, c.at)
		}
	}
}
