package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/keepalivedconf"
)

// translateString reads and translates conf, failing the test on an error;
// it returns the plan and every warning (keepalivedconf's and the plan's).
func translateString(t *testing.T, conf string) (*Plan, []string) {
	t.Helper()
	f, err := keepalivedconf.Parse("lvs.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Translate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var w []string
	for _, e := range cfg.Warnings {
		w = append(w, e.Error())
	}
	return p, append(w, p.Warnings...)
}

func TestTranslateLVSServiceKeywords(t *testing.T) {
	p, warns := translateString(t, `
virtual_server 10.0.0.1 80 {
    protocol TCP
    lb_algo sh
    sh-port
    sh-fallback
    lb_kind NAT
    weight 5
    persistence_timeout 60
    persistence_engine sip
    sorry_server 10.0.0.9 80
    sorry_server_inhibit
    sorry_server_lvs_method DR
    real_server 10.0.1.1 80 {
        uthreshold 100
        lthreshold 10
    }
    real_server 10.0.1.2 80 {
        weight 2
        lvs_method TUN
    }
}
virtual_server 10.0.0.2 53 {
    protocol UDP
    lb_algo mh
    mh-port
    ops
    flag-3
    real_server 10.0.1.1 53 {
    }
}
`)
	// keepalived's own default warnings (no lb_kind) only.
	for _, w := range warns {
		if !strings.Contains(w, "without lb_kind") {
			t.Errorf("warning: %s", w)
		}
	}
	s := p.Services[0]
	if want := ipvs.FlagPersistent | ipvs.FlagSHPort | ipvs.FlagSHFallback; s.Service.Flags != want {
		t.Errorf("flags %#x, want %#x", s.Service.Flags, want)
	}
	if s.Service.PersistenceEngine != "sip" {
		t.Errorf("persistence engine %q", s.Service.PersistenceEngine)
	}
	r0, r1 := s.Reals[0].Dest, s.Reals[1].Dest
	if r0.Weight != 5 || r0.UpperThreshold != 100 || r0.LowerThreshold != 10 || r0.Forward != ipvs.Masquerade {
		t.Errorf("real server 1: %+v (want weight 5 from the virtual server, thresholds 100/10, NAT)", r0)
	}
	if r1.Weight != 2 || r1.Forward != ipvs.Tunnel {
		t.Errorf("real server 2: %+v (want its own weight 2, TUN)", r1)
	}
	if s.Sorry == nil || s.Sorry.Forward != ipvs.Route || !s.SorryInhibit {
		t.Errorf("sorry server %+v inhibit %v, want DR and inhibited", s.Sorry, s.SorryInhibit)
	}
	if want := ipvs.FlagMHPort | ipvs.FlagOnePacket | ipvs.SchedFlag3; p.Services[1].Service.Flags != want {
		t.Errorf("udp flags %#x, want %#x", p.Services[1].Service.Flags, want)
	}

	// The inhibited sorry server stays at weight 0 while quorum holds.
	r := newRouter(slog.New(slog.DiscardHandler))
	r.plan = p
	got := r.desired()[0].Destinations
	if len(got) != 3 || got[2].Addr != netip.MustParseAddrPort("10.0.0.9:80") || got[2].Weight != 0 {
		t.Errorf("destinations with quorum: %+v", got)
	}
}

func TestTranslateLVSKeywordWarnings(t *testing.T) {
	for _, c := range []struct{ conf, want string }{
		// keepalived reads sh-port after lb_algo only.
		{"virtual_server 10.0.0.1 80 {\n protocol TCP\n sh-port\n lb_algo sh\n lb_kind DR\n real_server 10.0.1.1 80 {\n }\n}\n", "sh-port only applies to sh scheduler - ignoring"},
		{"virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n ops\n lb_kind DR\n real_server 10.0.1.1 80 {\n }\n}\n", "one packet scheduling requires UDP - resetting"},
		{"global_defs {\n lvs_timeouts tcp\n}\n", "lvs_timeouts requires at least one option"},
		{"global_defs {\n lvs_timeouts tcp 1 bogus 2\n}\n", "Unknown option bogus specified for lvs_timeouts"},
		{"global_defs {\n lvs_sync_daemon eth0 NOPE\n}\n", "Unable to find vrrp instance NOPE for lvs_syncd"},
		{"global_defs {\n lvs_sync_daemon eth0 group 10.0.0.1\n}\n", "is not multicast"},
		{"global_defs {\n lvs_flush_onstop ALL\n}\n", "Unknown lvs_flush_on_stop type ALL"},
		// keepalived ignores mh-port under sh without a word; lvsrouter
		// warns.
		{"virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo sh\n mh-port\n lb_kind DR\n real_server 10.0.1.1 80 {\n }\n}\n", "mh-port does not apply to scheduler sh"},
	} {
		_, warns := translateString(t, c.conf)
		if !strings.Contains(strings.Join(warns, "\n"), c.want) {
			t.Errorf("%q: warnings %q, want %q", c.conf, warns, c.want)
		}
	}
	// The flag was dropped, as keepalived does.
	p, _ := translateString(t, "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n ops\n lb_kind DR\n real_server 10.0.1.1 80 {\n }\n}\n")
	if p.Services[0].Service.Flags&ipvs.FlagOnePacket != 0 {
		t.Error("ops kept on a TCP service")
	}
}

func TestTranslateLVSGlobals(t *testing.T) {
	p, _ := translateString(t, `global_defs {
    lvs_timeouts tcp 7200 udp 300
    lvs_sync_daemon eth0 VI_1 maxlen 1400 port 8850 ttl 3 group 239.1.2.3
    lvs_flush
    lvs_flush_onstop
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.0.0.100
    }
}
`)
	if want := (ipvs.Timeouts{TCP: 7200 * time.Second, UDP: 300 * time.Second}); p.LVS.Timeouts != want {
		t.Errorf("timeouts %+v", p.LVS.Timeouts)
	}
	sd := p.LVS.SyncDaemon
	want := ipvs.Daemon{Interface: "eth0", SyncID: 51, MaxLen: 1400, Port: 8850, TTL: 3, Group: netip.MustParseAddr("239.1.2.3")}
	if sd == nil || sd.Instance != "VI_1" || sd.Daemon != want {
		t.Errorf("sync daemon %+v, want %+v following VI_1 (syncid: the VRID)", sd, want)
	}
	if !p.LVS.Flush || p.LVS.FlushOnStop != keepalivedconf.FlushFull {
		t.Errorf("flush %v on stop %v", p.LVS.Flush, p.LVS.FlushOnStop)
	}
	// lvs_flush_on_stop is the same keyword.
	for conf, want := range map[string]keepalivedconf.FlushOnStop{
		"lvs_flush_on_stop": keepalivedconf.FlushFull, "lvs_flush_on_stop VS": keepalivedconf.FlushVS,
	} {
		p, _ := translateString(t, "global_defs {\n "+conf+"\n}\n")
		if p.LVS.FlushOnStop != want {
			t.Errorf("%s: %v, want %v", conf, p.LVS.FlushOnStop, want)
		}
	}
	// Without an instance: both daemons, syncid 0 unless given; the old
	// positional SYNCID still reads (with keepalived's warning).
	p, _ = translateString(t, "global_defs {\n lvs_sync_daemon eth1 id 7\n}\n")
	if sd := p.LVS.SyncDaemon; sd == nil || sd.Instance != "" || sd.Daemon.SyncID != 7 || sd.Daemon.Interface != "eth1" {
		t.Errorf("sync daemon %+v", sd)
	}
}

func TestTranslateCheckerDefaults(t *testing.T) {
	p, _ := translateString(t, `
virtual_server 10.0.0.1 80 {
    protocol TCP
    lb_algo rr
    lb_kind DR
    retry 4
    delay_before_retry 2
    connect_timeout 7
    warmup 9
    virtualhost vs.example
    real_server 10.0.1.1 80 {
        retry 6
        delay_loop 3
        alpha
        virtualhost rs.example
        HTTP_GET {
            url {
                path /
            }
        }
    }
    real_server 10.0.1.2 80 {
        TCP_CHECK {
            retry 1
            connect_timeout 2
        }
    }
}
`)
	rs := p.Services[0].Reals
	h := rs[0].Checks[0]
	pol := h.Policy.(check.Keepalived)
	if pol.Retry != 6 || pol.DelayBeforeRetry != 2*time.Second || pol.Warmup != 9*time.Second || pol.DelayLoop != 3*time.Second || !pol.Alpha {
		t.Errorf("real server 1 policy %+v: want retry 6 and delay_loop 3 (its own), delay_before_retry 2 and warmup 9 (the virtual server's), alpha", pol)
	}
	if hc := h.Checker.(*check.HTTP); hc.Timeout != 7*time.Second || hc.Host != "rs.example" {
		t.Errorf("HTTP check timeout %v host %q: want the virtual server's 7 s and the real server's virtualhost", hc.Timeout, hc.Host)
	}
	tc := rs[1].Checks[0]
	if pol := tc.Policy.(check.Keepalived); pol.Retry != 1 || pol.DelayBeforeRetry != 2*time.Second {
		t.Errorf("real server 2 policy %+v: want the checker's retry 1", pol)
	}
	if c := tc.Checker.(check.TCP); c.Timeout != 2*time.Second {
		t.Errorf("TCP timeout %v, want the checker's 2 s", c.Timeout)
	}
}

func TestTranslateURLRegex(t *testing.T) {
	p, _ := translateString(t, `
virtual_server 10.0.0.1 80 {
    protocol TCP
    lb_algo rr
    lb_kind DR
    real_server 10.0.1.1 80 {
        HTTP_GET {
            url {
                path /
                regex "status: (ok|fine)"
                regex_options caseless
                regex_no_match
                regex_min_offset 3
                regex_max_offset 40
            }
        }
    }
}
`)
	h := p.Services[0].Reals[0].Checks[0].Checker.(*check.HTTP)
	b := h.BodyRegex
	if b == nil || !b.NoMatch || b.MinOffset != 3 || b.MaxOffset != 40 || !b.Matches([]byte("xx Status: OK")) {
		t.Fatalf("regex %+v", b)
	}
	// A PCRE-only option is refused with its place.
	f, err := keepalivedconf.Parse("lvs.conf", []byte("virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.1.1 80 {\n  HTTP_GET {\n   url {\n    path /\n    regex \"a b\"\n    regex_options extended\n   }\n  }\n }\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Translate(cfg); err == nil || !strings.Contains(err.Error(), "lvs.conf:9:") || !strings.Contains(err.Error(), "extended") {
		t.Errorf("extended: err %v, want it refused at lvs.conf:9", err)
	}
}

// loopbackSMTP starts mail_test.go's SMTP server on a loopback port.
func loopbackSMTP(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	newSMTPServer(t, ln)
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// TestSMTPHostsEachChecked translates SMTP_CHECK host blocks and runs the
// resulting check against loopback servers: every host is checked, and
// one host down fails the real server, as keepalived's one checker per
// host does.
func TestSMTPHostsEachChecked(t *testing.T) {
	a, b := loopbackSMTP(t), loopbackSMTP(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	conf := func(ports ...uint16) string {
		var hosts strings.Builder
		for _, p := range ports {
			fmt.Fprintf(&hosts, "            host {\n                connect_ip 127.0.0.1\n                connect_port %d\n                connect_timeout 1\n            }\n", p)
		}
		return fmt.Sprintf(`
virtual_server 10.0.0.1 25 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    real_server 10.0.1.1 25 {
        SMTP_CHECK {
            helo_name lvskit.test
%s        }
    }
}
`, hosts.String())
	}
	run := func(ports ...uint16) (check.Result, int) {
		p, _ := translateString(t, conf(ports...))
		c := p.Services[0].Reals[0].Checks[0].Checker
		n := 1
		if all, ok := c.(allOf); ok {
			n = len(all)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		return c.Check(ctx), n
	}
	if r, n := run(a.Port(), b.Port()); !r.Up || n != 2 {
		t.Errorf("two hosts up: up %v (%s), %d checks; want up, 2", r.Up, r.Reason, n)
	}
	if r, n := run(a.Port(), closed.Port()); r.Up || n != 2 {
		t.Errorf("second host down: up %v, %d checks; want down, 2", r.Up, n)
	}
	// Without host blocks the real server itself is checked.
	p, _ := translateString(t, conf())
	if c, ok := p.Services[0].Reals[0].Checks[0].Checker.(check.SMTP); !ok || c.Addr != netip.MustParseAddrPort("10.0.1.1:25") {
		t.Errorf("no host blocks: %#v", p.Services[0].Reals[0].Checks[0].Checker)
	}
}

func TestLVSKeywordsWithoutEffectAreRefusedWithTheirPlace(t *testing.T) {
	for _, c := range []struct{ line, where string }{
		{"hashed", "vs"}, {"snmp_name web", "vs"},
		{"snmp_name r1", "rs"},
		{"bind_if eth0", "check"}, {"fwmark 3", "check"}, {"log_all_failures", "check"},
		{"http_protocol 1.1", "check"}, {"fast_recovery", "check"},
	} {
		vs, rs, ck := "", "", ""
		switch c.where {
		case "vs":
			vs = "    " + c.line + "\n"
		case "rs":
			rs = "        " + c.line + "\n"
		default:
			ck = "            " + c.line + "\n"
		}
		conf := "virtual_server 10.0.0.1 80 {\n    protocol TCP\n    lb_algo rr\n    lb_kind DR\n" + vs +
			"    real_server 10.0.1.1 80 {\n" + rs + "        HTTP_GET {\n" + ck + "            url {\n                path /\n            }\n        }\n    }\n}\n"
		f, err := keepalivedconf.Parse("r.conf", []byte(conf))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := f.Config()
		if err != nil {
			t.Fatal(err)
		}
		_, err = Translate(cfg)
		kw := strings.Fields(c.line)[0]
		if err == nil || !strings.Contains(err.Error(), "r.conf:5:") && !strings.Contains(err.Error(), "r.conf:6:") && !strings.Contains(err.Error(), "r.conf:7:") ||
			!strings.Contains(err.Error(), kw+" is not supported by lvsrouter") {
			t.Errorf("%s in %s: err %v, want it refused with its place", kw, c.where, err)
		}
	}
}

func TestDeprecatedInstanceSyncDaemonInterface(t *testing.T) {
	p, warns := translateString(t, `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 33
    priority 100
    lvs_sync_daemon_interface eth1
    virtual_ipaddress {
        10.0.0.100
    }
}
`)
	if sd := p.LVS.SyncDaemon; sd == nil || sd.Instance != "VI_1" || sd.Daemon.Interface != "eth1" || sd.Daemon.SyncID != 33 {
		t.Errorf("sync daemon %+v", sd)
	}
	if !strings.Contains(strings.Join(warns, "\n"), "lvs_sync_daemon_interface against a vrrp is deprecated") {
		t.Errorf("warnings %q lack the deprecation", warns)
	}
}

func TestSSLGetSendsSNIOnlyWithEnableSNI(t *testing.T) {
	conf := func(extra string) *check.HTTP {
		p, _ := translateString(t, "virtual_server 10.0.0.1 443 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n virtualhost www.example\n real_server 10.0.1.1 443 {\n  SSL_GET {\n"+extra+"   url {\n    path /\n   }\n  }\n }\n}\n")
		return p.Services[0].Reals[0].Checks[0].Checker.(*check.HTTP)
	}
	if h := conf(""); !h.NoSNI {
		t.Error("SSL_GET without enable_sni sends SNI; keepalived sends none")
	}
	if h := conf("   enable_sni\n"); h.NoSNI || h.Host != "www.example" {
		t.Errorf("enable_sni: NoSNI %v host %q", h.NoSNI, h.Host)
	}
}

func TestIPFamilyGivesAFirewallMarkServiceItsFamily(t *testing.T) {
	p, _ := translateString(t, "virtual_server fwmark 9 {\n ip_family inet6\n lb_algo rr\n lb_kind TUN\n real_server 10.0.1.1 {\n  lvs_method TUN\n }\n}\n")
	if s := p.Services[0].Service; s.Family != ipvs.IPv6 {
		t.Errorf("family %v, want IPv6 from ip_family (the tunnelled real server is IPv4)", s.Family)
	}
	f, err := keepalivedconf.Parse("lvs.conf", []byte("virtual_server 10.0.0.1 80 {\n ip_family inet6\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.1.1 80 {\n }\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Config(); err == nil || !strings.Contains(err.Error(), "conflicts with server family") {
		t.Errorf("ip_family against the address: err %v", err)
	}
}

func TestSMTPHostBind(t *testing.T) {
	p, _ := translateString(t, "virtual_server 10.0.0.1 25 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n connect_timeout 4\n real_server 10.0.1.1 25 {\n  SMTP_CHECK {\n   host {\n    bindto 10.0.0.2\n    bind_port 4000\n   }\n   host {\n    connect_timeout 2\n   }\n  }\n }\n}\n")
	all, ok := p.Services[0].Reals[0].Checks[0].Checker.(allOf)
	if !ok || len(all) != 2 {
		t.Fatalf("checker %#v, want one SMTP check per host", p.Services[0].Reals[0].Checks[0].Checker)
	}
	a, b := all[0].(check.SMTP), all[1].(check.SMTP)
	if a.Bind != netip.MustParseAddrPort("10.0.0.2:4000") || a.Addr != netip.MustParseAddrPort("10.0.1.1:25") || a.Timeout != 4*time.Second {
		t.Errorf("host 1: %+v (want bound to 10.0.0.2:4000, the real server's address, the virtual server's connect_timeout)", a)
	}
	if b.Timeout != 2*time.Second || b.Bind.IsValid() {
		t.Errorf("host 2: %+v (want its own connect_timeout, no bind)", b)
	}
}

func TestTranslateURLRegexStack(t *testing.T) {
	// regex_stack sizes PCRE2's JIT stack; RE2 needs none, so it changes
	// nothing that matches: the check is the same with it.
	conf := func(extra string) *check.BodyRegex {
		p, warns := translateString(t, "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.1.1 80 {\n  HTTP_GET {\n   url {\n    path /\n    regex \"OK\"\n"+extra+"   }\n  }\n }\n}\n")
		if len(warns) > 0 {
			t.Fatalf("warnings %q", warns)
		}
		return p.Services[0].Reals[0].Checks[0].Checker.(*check.HTTP).BodyRegex
	}
	if a, b := conf(""), conf("    regex_stack 32768 1048576\n"); !a.Equal(b) {
		t.Errorf("regex_stack changed the check: %+v vs %+v", a, b)
	}
	_, warns := translateString(t, "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.1.1 80 {\n  HTTP_GET {\n   url {\n    path /\n    regex \"OK\"\n    regex_stack 9 1\n   }\n  }\n }\n}\n")
	if !strings.Contains(strings.Join(warns, "\n"), "regex_stack") {
		t.Errorf("regex_stack start above max: warnings %q", warns)
	}
}

func TestModeSplitsLVSGlobalsAsKeepalivedsProcesses(t *testing.T) {
	both := &SyncDaemonPlan{Daemon: ipvs.Daemon{Interface: "eth0"}}
	inst := &SyncDaemonPlan{Daemon: ipvs.Daemon{Interface: "eth0", SyncID: 51}, Instance: "VI_1"}
	all := LVSPlan{Timeouts: ipvs.Timeouts{TCP: time.Hour}, Flush: true, FlushOnStop: keepalivedconf.FlushFull}
	for _, c := range []struct {
		mode Mode
		sd   *SyncDaemonPlan
		want LVSPlan
	}{
		{ModeAll, inst, LVSPlan{Timeouts: all.Timeouts, Flush: true, FlushOnStop: keepalivedconf.FlushFull, SyncDaemon: inst}},
		{ModeCheck, inst, LVSPlan{Timeouts: all.Timeouts, Flush: true, FlushOnStop: keepalivedconf.FlushFull}},
		{ModeCheck, both, LVSPlan{Timeouts: all.Timeouts, Flush: true, FlushOnStop: keepalivedconf.FlushFull, SyncDaemon: both}},
		{ModeVRRP, inst, LVSPlan{SyncDaemon: inst}},
		{ModeVRRP, both, LVSPlan{}},
	} {
		l := all
		l.SyncDaemon = c.sd
		p := c.mode.restrict(&Plan{LVS: l})
		if p.LVS != c.want {
			t.Errorf("mode %v, daemon %+v: %+v, want %+v", c.mode, c.sd, p.LVS, c.want)
		}
	}
}

func TestMiscCheckAlpha(t *testing.T) {
	for _, c := range []struct {
		line string
		want bool
	}{{"", false}, {"   alpha\n", true}, {"   alpha off\n", false}} {
		p, _ := translateString(t, "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.1.1 80 {\n  MISC_CHECK {\n   misc_path /bin/true\n"+c.line+"  }\n }\n}\n")
		if got := p.Services[0].Reals[0].Checks[0].Policy.(check.Keepalived).Alpha; got != c.want {
			t.Errorf("%q: alpha %v, want %v (starts down, needs one success)", c.line, got, c.want)
		}
	}
}
