package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadRefusesWhatVRRPRefuses: a configuration vrrp.Router.Add would
// refuse (here advert_int 0.5 with VRRPv2, which needs whole seconds) is
// refused by load, which -t, start and reload share, with the instance and
// field named.
func TestLoadRefusesWhatVRRPRefuses(t *testing.T) {
	conf := `vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int %s
    virtual_ipaddress {
        10.77.0.100/24
    }
}
`
	dir := t.TempDir()
	for _, tc := range []struct {
		advert string
		ok     bool
	}{{"1", true}, {"0.5", false}} {
		path := filepath.Join(dir, "k.conf")
		if err := os.WriteFile(path, []byte(strings.Replace(conf, "%s", tc.advert, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := load(path)
		if tc.ok {
			if err != nil {
				t.Fatalf("advert_int %s: %v", tc.advert, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "VI_1: Interval") {
			t.Fatalf("advert_int %s: err %v, want the Interval refused", tc.advert, err)
		}
	}
}
