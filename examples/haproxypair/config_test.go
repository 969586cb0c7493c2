package main

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/haproxy"
	"github.com/lvskit/lvskit/keepalivedconf"
)

func seedArgs(extra ...string) []string {
	return append([]string{"-dir", "/run/hp", "-vip", "192.168.0.100", "-priority", "101",
		"-server", "rgw1=10.0.0.71:80", "-server", "rgw2=10.0.0.80:80"}, extra...)
}

// TestHAProxyConfigSeed checks the typed haproxy.cfg against the seed's
// Appendix A: frontends on *:80 and on the VIP's :443 with ssl crt, backend
// rgw with roundrobin and check on every server, syslog logging and the
// stats socket the tracker reads.
func TestHAProxyConfigSeed(t *testing.T) {
	o, _, err := parseFlags(seedArgs("-cert", "/etc/ssl/private/example.com.pem", "-backup-server", "rgw3=10.0.0.90:80@5",
		"-check-inter", "500ms", "-check-rise", "2", "-check-fall", "3", "-nbthread", "1"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c, err := haproxyConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	back, err := haproxy.Parse("haproxy.cfg", c.Format())
	if err != nil {
		t.Fatal(err)
	}
	g := back.Global()
	if lg := g.Logs(); len(lg) != 1 || lg[0].Address != "/dev/log" {
		t.Errorf("global log: %+v", lg)
	}
	if ss := g.StatsSockets(); len(ss) != 1 || ss[0].Address != "/run/hp/haproxy.sock" {
		t.Errorf("stats socket: %+v", ss)
	}
	if v, _ := g.Value("nbthread"); v != "1" {
		t.Errorf("nbthread %q", v)
	}
	if b := back.Frontend("http_web").Binds(); len(b) != 1 || b[0].Address != "*:80" || b[0].SSL {
		t.Errorf("http_web binds %+v", b)
	}
	if b := back.Frontend("rgw-https").Binds(); len(b) != 1 || b[0].Address != "192.168.0.100:443" || !b[0].SSL || b[0].Crt != "/etc/ssl/private/example.com.pem" {
		t.Errorf("rgw-https binds %+v", b)
	}
	be := back.Backend("rgw")
	if bal, _, _ := be.Balance(); bal.Algorithm != "roundrobin" {
		t.Errorf("balance %+v", bal)
	}
	srv := be.Servers()
	if len(srv) != 3 {
		t.Fatalf("servers %+v", srv)
	}
	for _, s := range srv {
		if s.Check != haproxy.On || s.Rise != 2 || s.Fall != 3 || s.Inter.Milliseconds() != 500 {
			t.Errorf("server %+v: want check inter 500ms rise 2 fall 3", s)
		}
	}
	if srv[2].Backup != haproxy.On || srv[2].Weight == nil || *srv[2].Weight != 5 || srv[0].Backup == haproxy.On {
		t.Errorf("backup server %+v", srv[2])
	}

	// Without -cert there is no HTTPS frontend; with -log "" no log line.
	o2, _, err := parseFlags(seedArgs("-log", "", "-balance", "uri whole", "-hash-type", "consistent djb2"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := haproxyConfig(o2)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Frontend("rgw-https") != nil || len(c2.Global().Logs()) != 0 {
		t.Errorf("without -cert and -log:\n%s", c2.Format())
	}
	if bal, _, _ := c2.Backend("rgw").Balance(); bal.Algorithm != "uri" || !strings.Contains(strings.Join(bal.Options, " "), "whole") {
		t.Errorf("balance %+v", bal)
	}
	if h, ok, _ := c2.Backend("rgw").HashType(); !ok || h.Method != "consistent" || h.Function != "djb2" {
		t.Errorf("hash-type %+v", h)
	}
}

// TestKeepalivedConfigSeed checks the keepalived.conf of -print-keepalived:
// the seed's instance and a vrrp_script that runs the -check probe.
func TestKeepalivedConfigSeed(t *testing.T) {
	o, _, err := parseFlags(seedArgs("-weight", "2", "-track-interval", "2s", "-track-fall", "2", "-min-servers", "2"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := writePair(o, []string{"/usr/bin/haproxypair", "-check", "-dir", "/run/hp", "-min-servers", "2"}, &out); err != nil {
		t.Fatal(err)
	}
	ka, _, ok := strings.Cut(strings.TrimPrefix(out.String(), "# ---- keepalived.conf ----\n"), "# ---- haproxy.cfg ----\n")
	if !ok {
		t.Fatalf("output:\n%s", out.String())
	}
	f, err := keepalivedconf.Parse("keepalived.conf", []byte(ka))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Scripts) != 2 || len(cfg.Instances) != 1 {
		t.Fatalf("%d scripts, %d instances:\n%s", len(cfg.Scripts), len(cfg.Instances), ka)
	}
	for _, want := range []string{`script "/usr/bin/haproxypair -check -dir /run/hp -min-servers 2"`, "interval 2\n", "weight 2\n", "fall 2\n",
		"priority 101\n", "virtual_router_id 51\n", "192.168.0.100/32\n", "chk_haproxy\n",
		`script "/usr/bin/haproxypair -check -dir /run/hp -min-servers 0"`, "weight 0\n", "chk_haproxy_running\n"} {
		if !strings.Contains(ka, want) {
			t.Errorf("keepalived.conf lacks %q:\n%s", want, ka)
		}
	}
}

// TestFlagsRefused checks that values we cannot honour are refused with
// the flag's name rather than ignored.
func TestFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-vip", "192.168.0.100"}, "-server"},
		{seedArgs("-vrid", "0"), "-vrid"},
		{seedArgs("-priority", "256"), "-priority"},
		{seedArgs("-vrrp-version", "1"), "-vrrp-version"},
		{seedArgs("-balance", "nosuch"), "-balance"},
		{seedArgs("-hash-type", "consistent md5"), "-hash-type"},
		{seedArgs("-min-servers", "3"), "-min-servers"},
		{seedArgs("-weight", "300"), "-weight"},
		{seedArgs("-track-fall", "0"), "-track-fall"},
		{seedArgs("-server", "bad"), "-server"},
		{seedArgs("-server", "x=10.0.0.1:80@0"), "weight"},
		{seedArgs("-log-level", "loud"), "-log-level"},
		{seedArgs("extra"), "unexpected argument"},
		{[]string{"-server", "a=10.0.0.1:80"}, "-vip"},
	} {
		var stderr bytes.Buffer
		if code := run(tc.args, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: exit %d, %q; want 2 naming %s", tc.args, code, stderr.String(), tc.want)
		}
	}
}

// TestTrackValues checks that the track file gives keepalived's weight
// semantics through vrrp.TrackFile (value × weight, weight 0 faults).
func TestTrackValues(t *testing.T) {
	for _, tc := range []struct {
		weight        int
		healthy, sick int
	}{
		{weight: 2, healthy: 1, sick: 0},
		{weight: -10, healthy: 0, sick: 1},
		{weight: 0, healthy: 0, sick: 1},
	} {
		if got := trackValue(tc.weight, true); got != tc.healthy {
			t.Errorf("weight %d healthy: %d, want %d", tc.weight, got, tc.healthy)
		}
		if got := trackValue(tc.weight, false); got != tc.sick {
			t.Errorf("weight %d unhealthy: %d, want %d", tc.weight, got, tc.sick)
		}
	}
}

// TestCheckUnhealthyWithoutHAProxy: -check fails (exit 1) when nothing
// answers on the stats socket.
func TestCheckUnhealthyWithoutHAProxy(t *testing.T) {
	var stderr bytes.Buffer
	if code := run([]string{"-check", "-dir", t.TempDir(), "-track-interval", "100ms"}, io.Discard, &stderr); code != 1 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

// TestHysteresis checks -track-rise and -track-fall: rise 2, fall 3.
func TestHysteresis(t *testing.T) {
	h := hysteresis{rise: 2, fall: 3}
	var got []string
	for _, ok := range []bool{true, false, false, true, false, false, false, true, true, false, true} {
		healthy, changed := h.update(ok)
		s := "-"
		if changed {
			s = map[bool]string{true: "UP", false: "DOWN"}[healthy]
		}
		got = append(got, s)
	}
	want := []string{"UP", "-", "-", "-", "-", "-", "DOWN", "-", "UP", "-", "-"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("changes %v, want %v", got, want)
	}
}

// TestPrintKeepalivedFlag runs -print-keepalived: both files, in order,
// with -https-port and -cert shaping the HTTPS frontend.
func TestPrintKeepalivedFlag(t *testing.T) {
	var out, stderr bytes.Buffer
	if code := run(seedArgs("-print-keepalived", "-https-port", "8443", "-cert", "/etc/ssl/private/example.com.pem", "-drain-timeout", "2s"), &out, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	s := out.String()
	ka, hc, dr := strings.Index(s, "# ---- keepalived.conf ----"), strings.Index(s, "# ---- haproxy.cfg ----"), strings.Index(s, "# ---- drain.sh ----")
	if ka != 0 || hc < 0 || dr < hc {
		t.Fatalf("output:\n%s", s)
	}
	for _, want := range []string{"vrrp_instance VI_1", "-check -dir /run/hp -min-servers 1", "bind 192.168.0.100:8443 ssl crt /etc/ssl/private/example.com.pem",
		// The drain: the SYN drop for the VIP, removed by notify_master,
		// haproxy's soft stop bounded by -drain-timeout (20 × 0.1 s).
		`notify_master "/usr/sbin/nft delete table inet haproxypair_vrid51"`,
		"ip daddr 192.168.0.100 tcp flags & (syn | ack) == syn counter drop",
		"pid=$(cat /run/hp/haproxy.pid)", `kill -0 "$pid" 2>/dev/null && [ "$i" -lt 20 ]`} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

// TestHAProxyBinaryFlag: -haproxy names the binary that checks and runs
// the configuration; a missing one stops the node with its name.
func TestHAProxyBinaryFlag(t *testing.T) {
	var stderr bytes.Buffer
	args := seedArgs("-haproxy", "/nonexistent/haproxy")
	args[1] = t.TempDir() // -dir
	if code := run(args, io.Discard, &stderr); code != 1 || !strings.Contains(stderr.String(), "/nonexistent/haproxy") {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

// TestLogLevelFlag: -log-level sets the node's logger level.
func TestLogLevelFlag(t *testing.T) {
	o, _, err := parseFlags(seedArgs("-log-level", "debug"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.LogLevel != slog.LevelDebug {
		t.Errorf("level %v", o.LogLevel)
	}
}
