package main

import (
	"strings"
	"testing"
)

const trackUnitConf = `static_ipaddress {
  10.88.0.1/24 dev eth0 no_track
  10.88.0.2/24 dev eth0
}
static_routes {
  10.99.0.0/16 via 10.77.0.254 dev eth0 no_track
  10.98.0.0/16 via 10.77.0.254 dev eth0
  10.97.0.0/16 via 10.77.0.254
}
static_rules {
  from 10.66.0.0/16 table 100 preference 1000 no_track
  from 10.65.0.0/16 table 100 preference 1001
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress {
    10.77.0.100/24 no_track dev eth0
    10.77.0.101/24 dev eth0
  }
  virtual_ipaddress_excluded {
    10.77.0.102/24 no_track
  }
  virtual_routes {
    10.55.0.0/16 via 10.77.0.254 dev eth0 no_track
    10.54.0.0/16 via 10.77.0.254 dev eth0 protocol 99
  }
  virtual_rules {
    from 10.77.0.100/32 table 100 preference 100 no_track
    from 10.77.0.101/32 table 100 preference 101
  }
}
`

// TestTranslateNoTrack: no_track lands in the vrrp NoTrack of each VIP,
// excluded VIP, static address, route and rule (anywhere on the line: it
// does not shift the dev after it); a route without dev is untracked, as
// keepalived does not track it; a tracked route keeps protocol 18 (
// keepalived resets another); the dump prints no_track as keepalived.
func TestTranslateNoTrack(t *testing.T) {
	p, _, err := load(writeConf(t, t.TempDir(), "t.conf", trackUnitConf), anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	c := p.Instances[0]
	if !c.VIPs[0].NoTrack || c.VIPs[0].Dev != "eth0" || c.VIPs[1].NoTrack || !c.ExcludedVIPs[0].NoTrack {
		t.Errorf("VIPs %+v, excluded %+v", c.VIPs, c.ExcludedVIPs)
	}
	if !c.Routes[0].NoTrack || c.Routes[1].NoTrack || c.Routes[1].Protocol != 18 {
		t.Errorf("routes %+v", c.Routes)
	}
	if !c.Rules[0].NoTrack || c.Rules[1].NoTrack {
		t.Errorf("rules %+v", c.Rules)
	}
	s := p.Static
	if !s.Addrs[0].NoTrack || s.Addrs[1].NoTrack || !s.Routes[0].NoTrack || s.Routes[1].NoTrack || !s.Routes[2].NoTrack ||
		!s.Rules[0].NoTrack || s.Rules[1].NoTrack {
		t.Errorf("static %+v", s)
	}
	if got := vipString(c.VIPs[0], "eth0"); got != "10.77.0.100/24 dev eth0 scope global no_track" {
		t.Errorf("dump: %q", got)
	}
}

// TestVIPOptionRefused: an address word lvsrouter does not act on is
// refused with its place, not dropped.
func TestVIPOptionRefused(t *testing.T) {
	for _, w := range []string{"home", "-nodad", "preferred_lft 0"} {
		text := strings.Replace(trackUnitConf, "10.77.0.101/24 dev eth0", "10.77.0.101/24 dev eth0 "+w, 1)
		_, _, err := load(writeConf(t, t.TempDir(), "t.conf", text), anyInterface)
		if err == nil || !strings.Contains(err.Error(), "not supported by lvsrouter") || !strings.Contains(err.Error(), "t.conf:19:5:") {
			t.Errorf("%s: %v", w, err)
		}
	}
}
