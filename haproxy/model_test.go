package haproxy

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestGlobalSetters(t *testing.T) {
	c := mustParse(t, []byte("# top\nglobal\n  daemon # bg\n  user nobody\n"))
	g := c.Global()
	g.SetUser("haproxy")
	g.SetGroup("haproxy")
	g.SetChroot("/var/lib/haproxy")
	g.SetDaemon(false)
	g.SetDaemon(false)
	if g.Daemon() || g.User() != "haproxy" || g.Group() != "haproxy" || g.Chroot() != "/var/lib/haproxy" {
		t.Fatalf("global = %q", c.Format())
	}
	g.SetDaemon(true)
	g.SetSSLDefaultBindOptions("ssl-min-ver", "TLSv1.2", "no-tls-tickets")
	if !slices.Equal(g.SSLDefaultBindOptions(), []string{"ssl-min-ver", "TLSv1.2", "no-tls-tickets"}) {
		t.Errorf("ssl options = %q", g.SSLDefaultBindOptions())
	}
	want := "# top\nglobal\n  user haproxy\n  group haproxy\n  chroot /var/lib/haproxy\n  daemon\n  ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets\n"
	if got := string(c.Format()); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	// EnsureGlobal on a file without one puts it after the preamble.
	c = mustParse(t, []byte("# x\nbackend b"))
	c.EnsureGlobal().SetMaxconn(10)
	if got := string(c.Format()); got != "# x\nglobal\n    maxconn 10\nbackend b" {
		t.Errorf("EnsureGlobal: %q", got)
	}
}

func TestNoFlag(t *testing.T) {
	c := mustParse(t, []byte("defaults\n  option httplog\n  no option httplog\n"))
	d := c.Defaults()[0]
	if d.Flag("option", "httplog") {
		t.Error("no option httplog ignored")
	}
	if got := d.Options(); !slices.Equal(got, []string{"httplog", "no httplog"}) {
		t.Errorf("options = %q", got)
	}
	d.SetFlag(true, "option", "httplog")
	if !d.Flag("option", "httplog") || string(c.Format()) != "defaults\n  option httplog\n" {
		t.Errorf("SetFlag: %q", c.Format())
	}
}

func TestBind(t *testing.T) {
	tests := []struct {
		addr   string
		lo, hi int
		ap     string
	}{
		{"192.168.0.10:80", 80, 80, "192.168.0.10:80"},
		{"*:8000-8010", 8000, 8010, "0.0.0.0:8000"},
		{":443", 443, 443, "0.0.0.0:443"},
		{"ipv6@[::1]:8443,:80", 8443, 8443, "[::1]:8443"},
		{"ipv6@:::80", 80, 80, "[::]:80"},
	}
	for _, tt := range tests {
		b := Bind{Address: tt.addr}
		lo, hi, err := b.Ports()
		if err != nil || lo != tt.lo || hi != tt.hi {
			t.Errorf("%s: ports %d-%d %v", tt.addr, lo, hi, err)
		}
		ap, err := b.AddrPort()
		if err != nil || ap != netip.MustParseAddrPort(tt.ap) {
			t.Errorf("%s: AddrPort %v %v", tt.addr, ap, err)
		}
	}
	for _, bad := range []string{"unix@/x.sock", "1.2.3.4:0", "1.2.3.4:9-8", "host:80"} {
		b := Bind{Address: bad}
		if _, err := b.AddrPort(); err == nil {
			t.Errorf("%s: AddrPort accepted", bad)
		}
	}
}

func TestBalanceWords(t *testing.T) {
	for _, line := range [][]string{
		{"roundrobin"}, {"static-rr"}, {"leastconn"}, {"first"}, {"source"},
		{"uri", "whole", "len", "10", "depth", "3", "path-only"}, {"url_param", "userid", "check_post", "64"},
		{"hdr(Host)", "use_domain_only"}, {"rdp-cookie"}, {"rdp-cookie(mstshash)"}, {"random"}, {"random(2)"},
		{"hash", "req.cookie(id)"},
	} {
		b, err := ParseBalance(line)
		if err != nil {
			t.Errorf("%q: %v", line, err)
			continue
		}
		if got := b.Words(); !slices.Equal(got, line) {
			t.Errorf("%q -> %+v -> %q", line, b, got)
		}
	}
	if b, _ := ParseBalance([]string{"hdr(Host)"}); b.Algorithm != "hdr" || b.Param != "Host" {
		t.Errorf("hdr = %+v", b)
	}
	// A bare "balance" is round robin, as HAProxy reads it.
	if b, err := ParseBalance(nil); err != nil || b.Algorithm != "roundrobin" {
		t.Errorf("bare balance = %+v, %v", b, err)
	}
	for _, bad := range [][]string{{"rr"}, {"hdr"}, {"hash"}, {"url_param"}} {
		if _, err := ParseBalance(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestHashType(t *testing.T) {
	c := mustParse(t, []byte("backend b\n  hash-type consistent djb2 avalanche\n"))
	p := c.Backend("b")
	h, ok, err := p.HashType()
	if d := cmp.Diff(HashType{Method: "consistent", Function: "djb2", Avalanche: true}, h); d != "" || !ok || err != nil {
		t.Fatalf("hash-type: %s %v %v", d, ok, err)
	}
	p.SetHashType(HashType{Method: "map-based"})
	if got := string(c.Format()); got != "backend b\n  hash-type map-based\n" {
		t.Errorf("got %q", got)
	}
}

func TestServerWordsRoundTrip(t *testing.T) {
	s := Server{Name: "s", Address: "[::1]:80", Check: On, Backup: Off, SSL: On, AgentCheck: On, Disabled: Off,
		Inter: 2 * time.Second, FastInter: 500 * time.Millisecond, DownInter: time.Minute, AgentInter: 3 * time.Second,
		Slowstart: 10 * time.Second, Rise: 2, Fall: 3, Maxconn: 50, AgentPort: 8081, Weight: new(0),
		Verify: "none", SNI: "req.hdr(host)", InitAddr: "last,libc,none", Track: "b/s2", Extra: []string{"cookie", "check", "send-proxy"}}
	c := mustParse(t, []byte("backend b\n"))
	l := c.Backend("b").AddServer(s)
	got, err := ParseServer(l)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(s, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	if ap, err := got.AddrPort(); err != nil || ap.Port() != 80 {
		t.Errorf("AddrPort = %v %v", ap, err)
	}
}
