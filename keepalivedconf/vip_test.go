package keepalivedconf

import (
	"slices"
	"testing"
)

// no_track is a word alone on a virtual_ipaddress or static_ipaddress
// line, anywhere after the address; words this package does not read go
// to Other instead of shifting the options after them.
func TestVIPNoTrackAndOtherWords(t *testing.T) {
	f, err := Parse("v.conf", []byte(`static_ipaddress {
  192.0.2.1/24 no_track dev eth1 label eth1:s
  192.0.2.2/24 dev eth1
}
vrrp_instance A {
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {
    10.0.0.100/24 dev eth0 no_track
    10.0.0.101/24 home dev eth0 preferred_lft 0
  }
}
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.StaticAddresses
	if !s[0].NoTrack || s[0].Dev != "eth1" || s[0].Label != "eth1:s" || s[1].NoTrack {
		t.Errorf("static: %+v / %+v", s[0], s[1])
	}
	v := cfg.Instances[0].VIPs
	if !v[0].NoTrack || v[0].Dev != "eth0" || len(v[0].Other) != 0 {
		t.Errorf("vip 0: %+v", v[0])
	}
	if v[1].NoTrack || v[1].Dev != "eth0" || !slices.Equal(v[1].Other, []string{"home", "preferred_lft", "0"}) {
		t.Errorf("vip 1: %+v", v[1])
	}
}
