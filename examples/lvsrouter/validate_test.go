package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLoadRefusesWhatVRRPRefuses: load, which -t, start and reload share,
// runs vrrp.Validate over the plan, so what vrrp.Router.Add would refuse at
// start (here one VRID twice on an interface, in two units) fails load with
// the field named; advert_int 0.5 under VRRPv2 is rounded to 1 s as
// keepalived does, and loads.
func TestLoadRefusesWhatVRRPRefuses(t *testing.T) {
	inst := `vrrp_instance %s {
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
	conf := func(s ...string) string {
		var b strings.Builder
		for i := 0; i < len(s); i += 2 {
			b.WriteString(strings.Replace(strings.Replace(inst, "%s", s[i], 1), "%s", s[i+1], 1))
		}
		return b.String()
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name, conf, err string
	}{
		{"advert_int 1", conf("VI_1", "1"), ""},
		{"advert_int 0.5", conf("VI_1", "0.5"), ""},
		{"VRID twice", conf("VI_1", "1", "VI_2", "1"), "VRID"},
	} {
		path := filepath.Join(dir, "k.conf")
		if err := os.WriteFile(path, []byte(tc.conf), 0o644); err != nil {
			t.Fatal(err)
		}
		p, _, err := load(path, anyInterface)
		if tc.err == "" {
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if got := p.Instances[0].Interval; got != time.Second {
				t.Errorf("%s: interval %v, want 1s", tc.name, got)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Fatalf("%s: err %v, want one naming %s", tc.name, err, tc.err)
		}
	}
}
