package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/vrrp"
)

const bfdConf = `bfd_instance uplink {
	neighbor_ip 192.0.2.254
	source_ip 192.0.2.1
	min_rx 10
	min_tx 10
	idle_tx 2000
	multiplier 3
	max_hops 1
	weight -20
	vrrp
}
bfd_instance rs6 {
	neighbor_ip 2001:db8::10
	passive
	checker
}
bfd_instance both {
	neighbor_ip 192.0.2.10
	ttl 254
	max_hops 255
}
vrrp_instance VI_1 {
	interface eth0
	virtual_router_id 51
	virtual_ipaddress {
		192.0.2.100
	}
	track_bfd {
		uplink
		both weight 0 reverse
	}
}
virtual_server 192.0.2.100 80 {
	lb_algo rr
	lb_kind DR
	protocol TCP
	real_server 192.0.2.10 80 {
		BFD_CHECK {
			name both
		}
	}
}
virtual_server 2001:db8::100 80 {
	lb_algo rr
	lb_kind DR
	protocol TCP
	real_server 2001:db8::10 80 {
		BFD_CHECK {
			name rs6
		}
	}
}
`

// TestTranslateBFD checks that every bfd_instance keyword lands in the
// session's configuration with keepalived's meaning, track_bfd in the VRRP
// instance's TrackExternal (weight from the track or the bfd_instance),
// and BFD_CHECK as an event-driven check.
func TestTranslateBFD(t *testing.T) {
	p := loadOK(t, writeConf(t, t.TempDir(), "keepalived.conf", bfdConf))
	want := map[string]BFDSession{
		"uplink": {Name: "uplink", VRRP: true, Config: check.BFDSessionConfig{
			Peer: netip.MustParseAddr("192.0.2.254"), Local: netip.MustParseAddr("192.0.2.1"),
			DesiredMinTx: 10 * time.Millisecond, RequiredMinRx: 10 * time.Millisecond, IdleTx: 2 * time.Second,
			DetectMult: 3, TTL: 255, MinTTL: 254}},
		"rs6": {Name: "rs6", Checker: true, Config: check.BFDSessionConfig{
			Peer: netip.MustParseAddr("2001:db8::10"), Passive: true,
			DesiredMinTx: 10 * time.Millisecond, RequiredMinRx: 10 * time.Millisecond, IdleTx: time.Second,
			DetectMult: 5, TTL: 64, MinTTL: 64}},
		"both": {Name: "both", VRRP: true, Checker: true, Config: check.BFDSessionConfig{
			Peer:         netip.MustParseAddr("192.0.2.10"),
			DesiredMinTx: 10 * time.Millisecond, RequiredMinRx: 10 * time.Millisecond, IdleTx: time.Second,
			DetectMult: 5, TTL: 254, MinTTL: 1}},
	}
	if len(p.BFD) != len(want) {
		t.Fatalf("%d sessions", len(p.BFD))
	}
	for _, s := range p.BFD {
		if w := want[s.Name]; !equalSession(w, s) {
			t.Errorf("%s:\n got %+v\nwant %+v", s.Name, s, w)
		}
	}
	tr := p.Instances[0].TrackExternal
	if len(tr) != 2 || tr[0] != (vrrp.TrackExternal{Name: "bfd:uplink", Weight: -20}) ||
		tr[1] != (vrrp.TrackExternal{Name: "bfd:both", Weight: 0, Reverse: true}) {
		t.Errorf("track_bfd: %+v", tr)
	}
	rs := service(t, p, "tcp 192.0.2.100:80").Reals[0]
	if bc, ok := rs.Checks[0].Checker.(bfdCheck); !ok || bc.Name != "both" || isBFDCheck(rs.Checks[0]) != true {
		t.Errorf("BFD_CHECK: %#v", rs.Checks[0])
	}
	for _, tg := range targets(p) {
		if isBFDCheck(tg) {
			t.Errorf("BFD_CHECK %s handed to the Monitor", tg.ID)
		}
	}
}

func equalSession(a, b BFDSession) bool {
	return a.Name == b.Name && a.VRRP == b.VRRP && a.Checker == b.Checker && a.Config.Peer == b.Config.Peer &&
		a.Config.Local == b.Config.Local && a.Config.DesiredMinTx == b.Config.DesiredMinTx &&
		a.Config.RequiredMinRx == b.Config.RequiredMinRx && a.Config.IdleTx == b.Config.IdleTx &&
		a.Config.DetectMult == b.Config.DetectMult && a.Config.Passive == b.Config.Passive &&
		a.Config.TTL == b.Config.TTL && a.Config.MinTTL == b.Config.MinTTL && a.Config.Multihop == b.Config.Multihop
}

// TestConfigTestRefusesBadBFD runs lvsrouter -t on mistakes keepalived
// reports: each is named with its file:line:col and fails the test.
func TestConfigTestRefusesBadBFD(t *testing.T) {
	for _, c := range []struct{ name, edit, want string }{
		{"unknown track", "\t\tuplink\n", "\t\tnope\n"},
		{"unknown BFD_CHECK", "name rs6", "name nope"},
		{"vrrp-only in BFD_CHECK", "name rs6", "name uplink"},
		{"checker-only in track_bfd", "\t\tuplink\n", "\t\trs6\n"},
		{"multihop keyword", "\tpassive\n", "\tpassive\n\tmultihop\n"},
		{"idle_tx below 1 s", "idle_tx 2000", "idle_tx 500"},
		{"no neighbor", "\tneighbor_ip 2001:db8::10\n", ""},
		{"same peer twice", "neighbor_ip 192.0.2.10\n", "neighbor_ip 192.0.2.254\n\tsource_ip 192.0.2.1\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(bfdConf, c.edit, c.want, 1)
			if src == bfdConf {
				t.Fatal("edit did not apply")
			}
			f := writeConf(t, t.TempDir(), "keepalived.conf", src)
			var stderr bytes.Buffer
			if code := run([]string{"-t", "-f", f}, io.Discard, &stderr); code != exitConfigTest {
				t.Fatalf("exit %d, want %d:\n%s", code, exitConfigTest, stderr.String())
			}
			if !strings.Contains(stderr.String(), f+":") {
				t.Errorf("no file:line:col in\n%s", stderr.String())
			}
			t.Log(strings.TrimSpace(stderr.String()))
		})
	}
}

// TestBFDTransitionsDriveRealServersAndTracks feeds the router BFD
// transitions: a BFD_CHECK real server leaves the desired IPVS state when
// its session goes down and returns when it comes up, and the VRRP
// instances tracking the session hear every change.
func TestBFDTransitionsDriveRealServersAndTracks(t *testing.T) {
	p := loadOK(t, writeConf(t, t.TempDir(), "keepalived.conf", bfdConf))
	r := newRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.plan = p
	r.bfd.up, r.bfd.feeds = map[string]bool{}, map[[2]string]chan bool{}
	c := r.bfdTracks(p.Instances[0])
	if p.Instances[0].TrackExternal[0].C != nil {
		t.Fatal("bfdTracks changed the plan's own slice")
	}
	dests := func() int { return len(r.desired()[0].Destinations) }
	if dests() != 1 {
		t.Fatalf("%d destinations before any transition (keepalived starts BFD_CHECK servers alive)", dests())
	}
	for _, step := range []struct {
		to    check.BFDState
		dests int
	}{{check.BFDUp, 1}, {check.BFDDown, 0}, {check.BFDUp, 1}} {
		r.onBFD(check.BFDTransition{Name: "both", To: step.to})
		if dests() != step.dests {
			t.Fatalf("after %v: %d destinations, want %d", step.to, dests(), step.dests)
		}
		select {
		case up := <-c.TrackExternal[1].C:
			if up != (step.to == check.BFDUp) {
				t.Fatalf("track got %v after %v", up, step.to)
			}
		default:
			// bfdTracks's own initial value may still be unread: drain it.
			t.Fatalf("track_bfd not told of %v", step.to)
		}
	}
}
