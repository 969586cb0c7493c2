package vrrp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func updBase() Config {
	return Config{Name: "VI_1", Interface: "eth0", VRID: 51, Priority: 150, Interval: time.Second,
		VIPs: []VIP{{Prefix: netip.MustParsePrefix("192.0.2.10/32")}}}
}

func TestUpdatable(t *testing.T) {
	ok := []struct {
		name string
		mod  func(c *Config)
	}{
		{"same", func(c *Config) {}},
		{"priority", func(c *Config) { c.Priority = 90 }},
		{"interval", func(c *Config) { c.Interval = 2 * time.Second }},
		{"preempt", func(c *Config) { c.NoPreempt = true; c.PreemptDelay = time.Second }},
		{"add VIP", func(c *Config) {
			c.VIPs = append(c.VIPs, VIP{Prefix: netip.MustParsePrefix("192.0.2.11/32")})
		}},
		{"replace VIP", func(c *Config) { c.VIPs = []VIP{{Prefix: netip.MustParsePrefix("192.0.2.12/32")}} }},
		{"routes", func(c *Config) { c.Routes = []Route{{Dst: netip.MustParsePrefix("198.51.100.0/24")}} }},
		{"track script", func(c *Config) { c.TrackScripts = []TrackScript{{Name: "chk", Command: []string{"/bin/true"}}} }},
		{"notify", func(c *Config) { c.Notify.Master = []string{"/bin/true"} }},
		{"garp", func(c *Config) { c.GARP.Repeat = 2 }},
	}
	for _, tc := range ok {
		n := updBase()
		tc.mod(&n)
		if err := Updatable(updBase(), n); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	bad := []struct {
		name, field string
		mod         func(c *Config)
	}{
		{"interface", "Interface", func(c *Config) { c.Interface = "eth1" }},
		{"vrid", "VRID", func(c *Config) { c.VRID = 52 }},
		{"version", "Version", func(c *Config) { c.Version = 3 }},
		{"unicast", "Peers", func(c *Config) { c.Peers = []netip.Addr{netip.MustParseAddr("192.0.2.2")} }},
		{"source", "Source", func(c *Config) { c.Source = netip.MustParseAddr("192.0.2.1") }},
		{"vmac", "VMAC", func(c *Config) { c.VMAC = true }},
		{"auth", "AuthType", func(c *Config) { c.AuthType = AuthSimple; c.AuthPass = "x" }},
		{"owner", "Priority", func(c *Config) { c.Priority = 255 }},
		{"family", "VIPs", func(c *Config) { c.VIPs = []VIP{{Prefix: netip.MustParsePrefix("2001:db8::1/128")}} }},
		{"new dev", "VIPs[1].Dev", func(c *Config) {
			c.VIPs = append(c.VIPs, VIP{Prefix: netip.MustParsePrefix("192.0.2.11/32"), Dev: "eth9"})
		}},
		{"label", "VIPs[0]", func(c *Config) { c.VIPs[0].Label = "eth0:1" }},
	}
	for _, tc := range bad {
		n := updBase()
		n.VIPs = append([]VIP(nil), n.VIPs...)
		tc.mod(&n)
		err := Updatable(updBase(), n)
		if !errors.Is(err, ErrNotUpdatable) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: got %v, want ErrNotUpdatable naming %s", tc.name, err, tc.field)
		}
	}
	o := updBase()
	o.FilterNonAccept = true
	n := o
	n.VIPs = append(n.VIPs, VIP{Prefix: netip.MustParsePrefix("192.0.2.11/32")})
	if err := Updatable(o, n); !errors.Is(err, ErrNotUpdatable) {
		t.Errorf("VIPs under FilterNonAccept: %v", err)
	}
}

func TestReconfigureMaster(t *testing.T) {
	rec := &recorder{}
	m, err := NewMachine(Election{Version: 3, Priority: 150, Interval: time.Second, Primary: addrMid}, rec)
	if err != nil {
		t.Fatal(err)
	}
	m.Start(t0)
	m.Tick(t0.Add(m.MasterDownInterval()))
	if m.State() != StateMaster {
		t.Fatalf("state %v", m.State())
	}
	rec.sent, rec.trans = nil, nil
	now := t0.Add(10 * time.Second)
	// Raise priority: stays master, advertises at once.
	if err := m.Reconfigure(now, Election{Version: 3, Priority: 200, Interval: 500 * time.Millisecond}, 200); err != nil {
		t.Fatal(err)
	}
	if m.State() != StateMaster || len(rec.trans) != 0 || len(rec.sent) != 1 || rec.sent[0] != 200 {
		t.Fatalf("after raise: state %v trans %v sent %v", m.State(), rec.trans, rec.sent)
	}
	if got := m.Deadline(); !got.Equal(now.Add(500 * time.Millisecond)) {
		t.Fatalf("adver timer %v", got.Sub(now))
	}
	// Lower below a peer: still master until the peer's advert arrives,
	// then backup through the normal protocol.
	if err := m.Reconfigure(now, Election{Version: 3, Priority: 50, Interval: time.Second}, 50); err != nil {
		t.Fatal(err)
	}
	if m.State() != StateMaster || rec.sent[len(rec.sent)-1] != 50 {
		t.Fatalf("after lower: %v %v", m.State(), rec.sent)
	}
	m.Advert(now.Add(time.Millisecond), addrLow, 100, time.Second)
	if m.State() != StateBackup {
		t.Fatalf("peer 100 vs our 50: %v", m.State())
	}
	// Refusals.
	if err := m.Reconfigure(now, Election{Version: 2, Priority: 50, Interval: time.Second}, 50); !errors.Is(err, ErrNotUpdatable) {
		t.Errorf("version change: %v", err)
	}
	if err := m.Reconfigure(now, Election{Version: 3, Priority: 255, Interval: time.Second}, 255); !errors.Is(err, ErrNotUpdatable) {
		t.Errorf("owner change: %v", err)
	}
}

func TestReconfigureBackupKeepsTimer(t *testing.T) {
	rec := &recorder{}
	m, _ := NewMachine(Election{Version: 3, Priority: 100, Interval: time.Second, Primary: addrMid}, rec)
	m.Start(t0)
	m.Advert(t0.Add(time.Second), addrHigh, 150, time.Second)
	d := m.Deadline()
	if err := m.Reconfigure(t0.Add(2*time.Second), Election{Version: 3, Priority: 120, Interval: time.Second}, 120); err != nil {
		t.Fatal(err)
	}
	if m.State() != StateBackup || !m.Deadline().Equal(d) || len(rec.sent) != 0 || m.Priority() != 120 {
		t.Fatalf("backup: %v %v %v %d", m.State(), m.Deadline().Sub(d), rec.sent, m.Priority())
	}
}

func TestDiffAndTrackKeys(t *testing.T) {
	a := []VIP{{Prefix: netip.MustParsePrefix("192.0.2.1/32")}, {Prefix: netip.MustParsePrefix("192.0.2.2/32")}}
	b := []VIP{{Prefix: netip.MustParsePrefix("192.0.2.2/32")}, {Prefix: netip.MustParsePrefix("192.0.2.3/32")}}
	if d := diff(b, a); len(d) != 1 || d[0] != b[1] {
		t.Errorf("added %v", d)
	}
	if d := diff(a, b); len(d) != 1 || d[0] != a[0] {
		t.Errorf("removed %v", d)
	}
	c := updBase()
	c.TrackScripts = []TrackScript{{Command: []string{"/bin/true", "x"}}, {Name: "n"}}
	c.TrackInterfaces = []TrackInterface{{Name: "eth1"}}
	k := trackKeys(&c)
	for _, want := range []string{"script:/bin/true x", "script:n", "interface:eth1"} {
		if !k[want] {
			t.Errorf("missing key %s in %v", want, k)
		}
	}
	n := c
	if trackChanged(&c, &n) {
		t.Error("same config reported changed")
	}
	n.TrackScripts = []TrackScript{{Name: "n", Weight: 5}}
	if !trackChanged(&c, &n) {
		t.Error("changed script not seen")
	}
}
