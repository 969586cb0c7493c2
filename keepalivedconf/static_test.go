package keepalivedconf

import (
	"net/netip"
	"strings"
	"testing"
)

const routesConf = `global_defs {
  vrrp_skip_check_adv_addr
  vmac_prefix lvs
}
static_ipaddress {
  192.0.2.1/24 dev eth1 label eth1:s
}
static_routes {
  198.51.100.0/24 via 192.0.2.254 dev eth1
}
static_rules {
  from all to 198.51.100.0/24 lookup main priority 10
}
vrrp_instance A {
  interface eth0
  virtual_router_id 1
  use_vmac vm1 02:00:00:00:00:01
  vmac_xmit_base
  mcast_src_ip 10.0.0.1
  mcast_dst_ip 224.0.0.19
  virtual_ipaddress {
    10.0.0.100/24
  }
  virtual_routes {
    src 10.0.0.100 to blackhole 10.9.0.0/16 table 7 metric 5 scope link protocol 99 no_track
    10.8.0.0/16 via 10.0.0.254 dev eth0 onlink
    default via 10.0.0.254 dev eth0
  }
  virtual_rules {
    from 10.0.0.100 to 10.9.0.0/16 table 7 preference 50
    inet6 fwmark 3 lookup 8 prio 9
  }
  track_interface {
    eth1 weight -10 reverse
  }
}
`

// TestRoutesRulesStatic: the typed view of virtual_routes, virtual_rules,
// the static blocks and the address keywords of an instance.
func TestRoutesRulesStatic(t *testing.T) {
	f, err := Parse("r.conf", []byte(routesConf))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	in := cfg.Instances[0]
	if !in.SkipCheckAdvAddr || cfg.GlobalDefs.VMACPrefix != "lvs" || in.VMACName != "vm1" || in.VMACAddr != "02:00:00:00:00:01" ||
		!in.VMACXmitBase || in.McastSrcIP != netip.MustParseAddr("10.0.0.1") || in.McastDstIP != netip.MustParseAddr("224.0.0.19") {
		t.Errorf("instance: %+v", in)
	}
	r := in.VirtualRoutes
	if len(r) != 3 {
		t.Fatalf("routes: %+v", r)
	}
	if r[0].Dst != netip.MustParsePrefix("10.9.0.0/16") || r[0].Type != "blackhole" || r[0].Src != netip.MustParseAddr("10.0.0.100") ||
		r[0].Table != 7 || r[0].Metric != 5 || !r[0].HasScope || r[0].Scope != ScopeLink || r[0].Protocol != 99 || !r[0].NoTrack || r[0].Tracked {
		t.Errorf("route 0: %+v", r[0])
	}
	if r[1].Via != netip.MustParseAddr("10.0.0.254") || r[1].Dev != "eth0" || !r[1].Tracked || strings.Join(r[1].Other, ",") != "onlink" {
		t.Errorf("route 1: %+v", r[1])
	}
	if r[2].Dst != netip.MustParsePrefix("0.0.0.0/0") {
		t.Errorf("route 2: %+v", r[2])
	}
	ru := in.VirtualRules
	if len(ru) != 2 || ru[0].From != netip.MustParsePrefix("10.0.0.100/32") || ru[0].To != netip.MustParsePrefix("10.9.0.0/16") ||
		ru[0].Table != 7 || ru[0].Priority != 50 || !ru[1].IPv6 || ru[1].Table != 8 || ru[1].Priority != 9 ||
		strings.Join(ru[1].Other, ",") != "fwmark 3" {
		t.Errorf("rules: %+v", ru)
	}
	if len(cfg.StaticAddresses) != 1 || cfg.StaticAddresses[0].Label != "eth1:s" || len(cfg.StaticRoutes) != 1 ||
		len(cfg.StaticRules) != 1 || cfg.StaticRules[0].Table != 254 || cfg.StaticRules[0].From.IsValid() {
		t.Errorf("static: %+v %+v %+v", cfg.StaticAddresses, cfg.StaticRoutes, cfg.StaticRules)
	}
	if ti := in.TrackInterfaces; len(ti) != 1 || ti[0].Weight != -10 || !ti[0].Reverse {
		t.Errorf("track_interface: %+v", ti)
	}
}

// TestRouteErrors: what keepalived reports for a route or rule, with its
// place.
func TestRouteErrors(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{"via 10.0.0.1 dev eth0", "route must have a destination"},
		{"10.0.0.0/8 src 2001:db8::1 dev eth0", "cannot mix IPv4 and IPv6"},
		{"nonsense dev eth0", "unknown route keyword nonsense"},
		{"10.0.0.0/8 metric x dev eth0", "invalid metric x"},
	} {
		conf := "vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n    10.0.0.100\n  }\n  virtual_routes {\n    " + c.line + "\n  }\n}\n"
		f, _ := Parse("e.conf", []byte(conf))
		_, err := f.Config()
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "e.conf:8:") {
			t.Errorf("%q: %v, want %q at e.conf:8", c.line, err, c.want)
		}
	}
}
