package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/examples/lvsrouter/internal/promtext"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/vrrp"
)

func TestStatusSocket(t *testing.T) {
	r := testOps(t)
	r.ops.transition(r.log, "VI_1", vrrp.Transition{From: vrrp.StateBackup, To: vrrp.StateMaster})
	k := ipvs.ServiceKey{Family: 2, Protocol: 6, Addr: netip.MustParseAddrPort("10.0.0.1:80")}
	reportReal(&r.ops, k, netip.MustParseAddrPort("10.1.0.1:80"), true)
	reportReal(&r.ops, k, netip.MustParseAddrPort("10.1.0.1:80"), false)
	reportService(&r.ops, k, true)
	path := filepath.Join(t.TempDir(), "status.sock")
	stop, err := serveStatus(t.Context(), path, &r.ops, r.log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v %v", fi.Mode(), err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	c.Close()
	var st statusReply
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if len(st.VRRP) != 1 || st.VRRP[0].Data["iname"] != "VI_1" || st.VRRP[0].Stats["become_master"] != 1 {
		t.Errorf("vrrp %+v", st.VRRP)
	}
	if len(st.RealServers) != 1 || st.RealServers[0].Up || st.RealServers[0].Transitions != 1 || st.RealServers[0].Real != "[10.1.0.1]:tcp:80" {
		t.Errorf("reals %+v", st.RealServers)
	}
	if len(st.Services) != 1 || !st.Services[0].Quorum || st.Services[0].Service != "[10.0.0.1]:tcp:80" {
		t.Errorf("services %+v", st.Services)
	}
}

func TestWatchdogInterval(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "4000000")
	t.Setenv("WATCHDOG_PID", "")
	if got := watchdogInterval(); got != 2*time.Second {
		t.Errorf("%v", got)
	}
	t.Setenv("WATCHDOG_PID", "1")
	if got := watchdogInterval(); got != 0 {
		t.Errorf("another pid's watchdog: %v", got)
	}
}

// TestSystemdNotify runs lvsrouter as systemd would (Type=notify: a
// NOTIFY_SOCKET, the watchdog) and reads what it says at start, on SIGHUP
// and on SIGTERM; the status socket answers meanwhile.
func TestSystemdNotify(t *testing.T) {
	dir := t.TempDir()
	sockPath := filepath.Join(dir, "notify")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conf := writeConf(t, dir, "k.conf", "global_defs {\n  router_id lb1\n}\n")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	status := filepath.Join(dir, "status.sock")
	cmd := exec.Command(self, "--dont-fork", "--use-file="+conf, "--status-socket", status)
	cmd.Env = append(os.Environ(), "LVSROUTER_AS_MAIN=1", "NOTIFY_SOCKET="+sockPath, "WATCHDOG_USEC=200000")
	var out strings.Builder
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	next := func() string {
		l.SetReadDeadline(time.Now().Add(20 * time.Second))
		b := make([]byte, 512)
		for {
			n, err := l.Read(b)
			if err != nil {
				t.Fatalf("%v; log:\n%s", err, out.String())
			}
			if s := string(b[:n]); s != "WATCHDOG=1" {
				return s
			}
		}
	}
	watchdog := func() {
		l.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 512)
		for {
			n, err := l.Read(b)
			if err != nil {
				t.Fatalf("no watchdog ping: %v", err)
			}
			if string(b[:n]) == "WATCHDOG=1" {
				return
			}
		}
	}
	if s := next(); s != "READY=1" {
		t.Fatalf("first %q", s)
	}
	watchdog()
	c, err := net.Dial("unix", status)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	c.Close()
	if !json.Valid(b) {
		t.Errorf("status %q", b)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	if s := next(); !strings.HasPrefix(s, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Errorf("reload %q", s)
	}
	if s := next(); s != "READY=1" {
		t.Errorf("after reload %q", s)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if s := next(); s != "STOPPING=1" {
		t.Errorf("stop %q", s)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit %v; log:\n%s", err, out.String())
	}
	if _, err := os.Stat(status); err == nil {
		t.Errorf("status socket left behind")
	}
}

// TestMetrics scrapes /metrics while a master releases and a real server
// fails, and checks that the values change as they should.
func TestMetrics(t *testing.T) {
	r := testOps(t)
	k := ipvs.ServiceKey{Family: 2, Protocol: 17, Addr: netip.MustParseAddrPort("10.0.0.1:53")}
	rs := netip.MustParseAddrPort("10.1.0.1:53")
	r.ops.transition(r.log, "VI_1", vrrp.Transition{From: vrrp.StateBackup, To: vrrp.StateMaster})
	reportReal(&r.ops, k, rs, true)
	scrape := func() string {
		srv := httptest.NewServer(promtext.Handler((&metricsCollector{ops: &r.ops}).gather))
		defer srv.Close()
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	before := scrape()
	for _, want := range []string{
		`keepalived_become_master_total{iname="VI_1",intf="eth0",vrid="51"} 1`,
		`keepalived_release_master_total{iname="VI_1",intf="eth0",vrid="51"} 0`,
		`keepalived_vrrp_state{iname="VI_1",intf="eth0",vrid="51"} 0`,
		`keepalived_advert_rcvd_total{iname="VI_1",intf="eth0",vrid="51"} 0`,
		`lvsrouter_real_server_up{real="[10.1.0.1]:udp:53",service="[10.0.0.1]:udp:53"} 1`,
	} {
		if !strings.Contains(before, want) {
			t.Errorf("before: no %s in\n%s", want, before)
		}
	}
	// The master loses its place; the real server fails.
	r.ops.transition(r.log, "VI_1", vrrp.Transition{From: vrrp.StateMaster, To: vrrp.StateBackup})
	reportReal(&r.ops, k, rs, false)
	after := scrape()
	for _, want := range []string{
		`keepalived_release_master_total{iname="VI_1",intf="eth0",vrid="51"} 1`,
		`lvsrouter_real_server_up{real="[10.1.0.1]:udp:53",service="[10.0.0.1]:udp:53"} 0`,
		`lvsrouter_real_server_transitions_total{real="[10.1.0.1]:udp:53",service="[10.0.0.1]:udp:53"} 1`,
	} {
		if !strings.Contains(after, want) {
			t.Errorf("after: no %s in\n%s", want, after)
		}
	}
}

// TestMetricsAddr: --metrics-addr serves /metrics; without it nothing
// listens.
func TestMetricsAddr(t *testing.T) {
	r := testOps(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	stop, err := serveMetrics(t.Context(), addr, &r.ops, r.log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "keepalived_vrrp_state{") {
		t.Errorf("%s", b)
	}
	o, _ := parseArgs(nil)
	if o.MetricsAddr != "" {
		t.Errorf("metrics on by default: %q", o.MetricsAddr)
	}
}

// TestSyslogByDefault: without -l the log goes to syslog (ident
// Keepalived, facility daemon or -S), with keepalived's state lines; -l
// adds the console, -G drops syslog.
func TestSyslogByDefault(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	syslogAddr = path
	t.Cleanup(func() { syslogAddr = "" })
	read := func() string {
		l.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 2048)
		n, err := l.Read(b)
		if err != nil {
			t.Fatal(err)
		}
		return string(b[:n])
	}
	for _, tc := range []struct {
		args    []string
		prio    string
		console bool
	}{
		{nil, "<30>", false},                       // daemon.info
		{[]string{"-S", "local3"}, "<158>", false}, // local3.info
		{[]string{"-l"}, "<30>", true},
	} {
		o, err := parseArgs(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		var console strings.Builder
		log, closeLog := newLogger(o, &console)
		r := testOps(t)
		r.ops.transition(log, "VI_1", vrrp.Transition{From: vrrp.StateBackup, To: vrrp.StateMaster})
		closeLog()
		got := read()
		if !strings.HasPrefix(got, tc.prio) || !strings.Contains(got, "Keepalived[") || !strings.HasSuffix(strings.TrimSpace(got), "(VI_1) Entering MASTER STATE") {
			t.Errorf("%q: syslog got %q", tc.args, got)
		}
		if strings.Contains(console.String(), "Entering MASTER STATE") != tc.console {
			t.Errorf("%q: console %q", tc.args, console.String())
		}
	}
	o, _ := parseArgs([]string{"-l", "-G"})
	var console strings.Builder
	log, closeLog := newLogger(o, &console)
	log.Info("console only")
	closeLog()
	l.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := l.Read(make([]byte, 100)); err == nil {
		t.Errorf("-G still logs to syslog (%d bytes)", n)
	}
	if !strings.Contains(console.String(), "console only") {
		t.Errorf("-l -G console %q", console.String())
	}
}
