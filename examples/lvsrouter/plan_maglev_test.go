package main

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/keepalivedconf"
)

// translateText translates a configuration given as text, named mh.conf.
func translateText(t *testing.T, text string) (*Plan, error) {
	t.Helper()
	return translateData(t, "t.conf", []byte(text))
}

func translateData(t *testing.T, name string, data []byte) (*Plan, error) {
	t.Helper()
	f, err := keepalivedconf.Parse(name, data)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	return Translate(cfg)
}

const mhConf = `virtual_server 10.0.0.50 80 {
    protocol TCP
    lb_algo %s
    lb_kind DR
%s
    real_server 10.0.1.1 80 {
    }
    real_server 10.0.1.2 80 {
    }
}
`

// TestMHFlags: mh-port and mh-fallback set the kernel's mh flags (port:
// scheduler flag 2, fallback: flag 1), as keepalived does (plan_lvs.go).
func TestMHFlags(t *testing.T) {
	for _, c := range []struct {
		lines string
		want  ipvs.ServiceFlags
	}{
		{"", 0},
		{"    mh-port", ipvs.FlagMHPort},
		{"    mh-fallback", ipvs.FlagMHFallback},
		{"    mh-port\n    mh-fallback", ipvs.FlagMHPort | ipvs.FlagMHFallback},
	} {
		p, err := translateText(t, sprintf2(mhConf, "mh", c.lines))
		if err != nil {
			t.Fatalf("%q: %v", c.lines, err)
		}
		if got := p.Services[0].Service.Flags; got != c.want {
			t.Errorf("%q: flags %#x, want %#x", c.lines, got, c.want)
		}
	}
	// On another scheduler they are dropped, with a warning at their
	// place that fails -t (TestTranslateLVSKeywordWarnings), where
	// keepalived drops them silently.
	p, err := translateText(t, sprintf2(mhConf, "rr", "    mh-port"))
	if err != nil || p.Services[0].Service.Flags != 0 {
		t.Errorf("mh-port with rr: err %v, flags %#x: want the flag dropped", err, p.Services[0].Service.Flags)
	}
}

func sprintf2(format, a, b string) string {
	return strings.Replace(strings.Replace(format, "%s", a, 1), "%s", b, 1)
}

// TestMaglevOrderCanonical: whatever order the configuration lists an mh
// service's real servers in, the router applies them highest address
// first; other schedulers keep the configuration's order.
func TestMaglevOrderCanonical(t *testing.T) {
	d := func(s string) ipvs.Destination { return ipvs.Destination{Addr: netip.MustParseAddrPort(s), Weight: 1} }
	want := []ipvs.Service{
		{Scheduler: "mh", Destinations: []ipvs.Destination{d("10.0.1.2:80"), d("10.0.1.10:80"), d("10.0.1.1:80")}},
		{Scheduler: "rr", Destinations: []ipvs.Destination{d("10.0.1.2:80"), d("10.0.1.10:80"), d("10.0.1.1:80")}},
	}
	maglevOrder(want)
	var got []string
	for _, s := range want {
		var l []string
		for _, x := range s.Destinations {
			l = append(l, x.Addr.String())
		}
		got = append(got, s.Scheduler+": "+strings.Join(l, " "))
	}
	if g := strings.Join(got, "; "); g != "mh: 10.0.1.10:80 10.0.1.2:80 10.0.1.1:80; rr: 10.0.1.2:80 10.0.1.10:80 10.0.1.1:80" {
		t.Errorf("got %s", g)
	}
}
