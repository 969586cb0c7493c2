package main

import (
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/vrrp"
)

// effect is one keyword's case of TestKeywordEffects: a keyword line in
// its context's probe configuration, and what the plan must show.
type effect struct {
	line string
	show func(t *testing.T, p *Plan)
}

func instance0(t *testing.T, p *Plan) vrrp.Config {
	t.Helper()
	if len(p.Instances) == 0 {
		t.Fatal("no instance")
	}
	return p.Instances[0]
}

// firstCheck is the first check of the first real server, with its
// keepalived policy.
func firstCheck(t *testing.T, p *Plan) (check.Checker, check.Keepalived) {
	t.Helper()
	if len(p.Services) == 0 || len(p.Services[0].Reals) == 0 || len(p.Services[0].Reals[0].Checks) == 0 {
		t.Fatal("no check")
	}
	c := p.Services[0].Reals[0].Checks[0]
	pol, _ := c.Policy.(check.Keepalived)
	if a, ok := c.Checker.(allOf); ok {
		return a[len(a)-1], pol
	}
	return c.Checker, pol
}

// checkConn is the address, bind address and timeout of a connecting
// checker.
func checkConn(t *testing.T, c check.Checker) (addr, bind netip.AddrPort, timeout time.Duration) {
	t.Helper()
	switch c := c.(type) {
	case check.TCP:
		return c.Addr, c.Bind, c.Timeout
	case *check.HTTP:
		return c.Addr, c.Bind, c.Timeout
	case check.SMTP:
		return c.Addr, c.Bind, c.Timeout
	case check.UDP:
		return c.Addr, c.Bind, c.Timeout
	case check.DNS:
		return c.Addr, netip.AddrPort{}, c.Timeout
	case check.ICMP:
		return netip.AddrPortFrom(c.Addr, 0), netip.AddrPort{}, c.Timeout
	}
	t.Fatalf("checker %T", c)
	return
}

// checkerEffects are the effects every connecting checker shows.
func checkerEffects(ctx string) map[string]effect {
	conn := func(line string, want func(addr, bind netip.AddrPort, to time.Duration) bool) effect {
		return effect{line, func(t *testing.T, p *Plan) {
			c, _ := firstCheck(t, p)
			if a, b, to := checkConn(t, c); !want(a, b, to) {
				t.Errorf("%s: %s: addr %v bind %v timeout %v", ctx, line, a, b, to)
			}
		}}
	}
	policy := func(line string, want func(check.Keepalived) bool) effect {
		return effect{line, func(t *testing.T, p *Plan) {
			if _, pol := firstCheck(t, p); !want(pol) {
				t.Errorf("%s: %s: policy %+v", ctx, line, pol)
			}
		}}
	}
	m := map[string]effect{
		"connect_ip":      conn("connect_ip 10.0.1.77", func(a, _ netip.AddrPort, _ time.Duration) bool { return a.Addr() == netip.MustParseAddr("10.0.1.77") }),
		"connect_timeout": conn("connect_timeout 7", func(_, _ netip.AddrPort, to time.Duration) bool { return to == 7*time.Second }),
		"alpha":           policy("alpha", func(p check.Keepalived) bool { return p.Alpha }),
		"retry":           policy("retry 4", func(p check.Keepalived) bool { return p.Retry == 4 }),
		"delay_before_retry": policy("delay_before_retry 9", func(p check.Keepalived) bool {
			return p.DelayBeforeRetry == 9*time.Second
		}),
		"warmup":     policy("warmup 11", func(p check.Keepalived) bool { return p.Warmup == 11*time.Second }),
		"delay_loop": policy("delay_loop 13", func(p check.Keepalived) bool { return p.DelayLoop == 13*time.Second }),
	}
	if ctx != "PING_CHECK" {
		m["connect_port"] = conn("connect_port 8081", func(a, _ netip.AddrPort, _ time.Duration) bool { return a.Port() == 8081 })
	}
	if ctx != "PING_CHECK" && ctx != "DNS_CHECK" {
		m["bindto"] = conn("bindto 10.0.0.8", func(_, b netip.AddrPort, _ time.Duration) bool { return b.Addr() == netip.MustParseAddr("10.0.0.8") })
		m["bind_port"] = effect{"bindto 10.0.0.8\n      bind_port 10001", func(t *testing.T, p *Plan) {
			c, _ := firstCheck(t, p)
			if _, b, _ := checkConn(t, c); b.Port() != 10001 {
				t.Errorf("%s: bind_port: bind %v", ctx, b)
			}
		}}
	}
	return m
}

// keywordEffects are the cases of TestKeywordEffects by "context keyword".
func keywordEffects() map[string]effect {
	dir := "/tmp/lvsrouter-kwprobe"
	m := map[string]effect{
		"top track_file": {"track_file tf9 {\n  file " + dir + "-tf9\n  weight -7\n}\n" + strings.Replace(probeInstance, "@@", "  track_file {\n    tf9\n  }\n", 1),
			func(t *testing.T, p *Plan) {
				if got := instance0(t, p).TrackFiles; !slices.Equal(got, []vrrp.TrackFile{{Path: dir + "-tf9", Weight: -7}}) {
					t.Errorf("track_file: %+v", got)
				}
			}},
		"global_defs vrrp_version": {"vrrp_version 3", nil}, // with the instance, below
		"vrrp_instance state": {"state MASTER", func(t *testing.T, p *Plan) {
			// without a priority, state MASTER is the address owner
			if c := instance0(t, p); c.Priority != 100 {
				t.Errorf("state MASTER with priority 100: priority %d", c.Priority)
			}
		}},
		"vrrp_instance version":   {"version 3", func(t *testing.T, p *Plan) { want(t, "version", instance0(t, p).Version, uint8(3)) }},
		"vrrp_instance nopreempt": {"nopreempt", func(t *testing.T, p *Plan) { want(t, "nopreempt", instance0(t, p).NoPreempt, true) }},
		"vrrp_instance preempt": {"nopreempt\n  preempt", func(t *testing.T, p *Plan) {
			want(t, "preempt after nopreempt", instance0(t, p).NoPreempt, false)
		}},
		"vrrp_instance preempt_delay": {"preempt_delay 12", func(t *testing.T, p *Plan) {
			want(t, "preempt_delay", instance0(t, p).PreemptDelay, 12*time.Second)
		}},
		"vrrp_instance unicast_src_ip": {"unicast_src_ip 10.0.0.8", func(t *testing.T, p *Plan) {
			want(t, "unicast_src_ip", instance0(t, p).Source, netip.MustParseAddr("10.0.0.8"))
		}},
		"vrrp_instance unicast_peer": {"unicast_peer {\n    10.0.0.9\n  }", func(t *testing.T, p *Plan) {
			if got := instance0(t, p).Peers; !slices.Equal(got, []netip.Addr{netip.MustParseAddr("10.0.0.9")}) {
				t.Errorf("unicast_peer: %v", got)
			}
		}},
		"vrrp_instance garp_master_delay": {"garp_master_delay 3", func(t *testing.T, p *Plan) {
			want(t, "garp_master_delay", instance0(t, p).GARP.Delay, 3*time.Second)
		}},
		"vrrp_instance track_file": {"track_file {\n    tf1 weight 3\n  }", nil},
		"vrrp_instance notify_backup": {"notify_backup \"/bin/echo backup\"", func(t *testing.T, p *Plan) {
			want(t, "notify_backup", strings.Join(instance0(t, p).Notify.Backup, " "), "/bin/echo backup")
		}},
		"vrrp_instance notify_fault": {"notify_fault \"/bin/echo fault\"", func(t *testing.T, p *Plan) {
			want(t, "notify_fault", strings.Join(instance0(t, p).Notify.Fault, " "), "/bin/echo fault")
		}},
		"vrrp_instance notify_stop": {"notify_stop \"/bin/echo stop\"", func(t *testing.T, p *Plan) {
			want(t, "notify_stop", strings.Join(instance0(t, p).Notify.Stop, " "), "/bin/echo stop")
		}},
		"vrrp_script timeout": {"timeout 4", nil},
		"vrrp_script user":    {"user nobody", nil},
		"track_file file":     {"file " + dir + "-other", nil},
		"track_file weight":   {"weight -9", nil},
		"virtual_server lvs_sched": {"lvs_sched sh", func(t *testing.T, p *Plan) {
			want(t, "lvs_sched", p.Services[0].Service.Scheduler, "sh")
		}},
		"virtual_server lvs_method": {"lvs_method DR", func(t *testing.T, p *Plan) {
			want(t, "lvs_method", p.Services[0].Reals[0].Dest.Forward, ipvs.Route)
		}},
		"virtual_server delay_loop":  {"delay_loop 17", nil},
		"virtual_server virtualhost": {"virtualhost vs.example.com", nil},
		"real_server SMTP_CHECK":     {"SMTP_CHECK {\n    }", func(t *testing.T, p *Plan) { isChecker[check.SMTP](t, p) }},
		"real_server UDP_CHECK":      {"UDP_CHECK {\n    }", func(t *testing.T, p *Plan) { isChecker[check.UDP](t, p) }},
		"real_server PING_CHECK":     {"PING_CHECK {\n    }", func(t *testing.T, p *Plan) { isChecker[check.ICMP](t, p) }},
		"real_server FILE_CHECK":     {"FILE_CHECK {\n      track_file tf1\n    }", nil},
		"url path": {"path /deep", func(t *testing.T, p *Plan) {
			c, _ := firstCheck(t, p)
			want(t, "path", c.(*check.HTTP).Path, "/deep")
		}},
		"url digest": {"digest 9b3a0c85a887a256d6939da88aabd8cd", func(t *testing.T, p *Plan) {
			c, _ := firstCheck(t, p)
			want(t, "digest", c.(*check.HTTP).Digest, "9b3a0c85a887a256d6939da88aabd8cd")
		}},
		"url status_code": {"status_code 204", func(t *testing.T, p *Plan) {
			c, _ := firstCheck(t, p)
			sc, _ := check.ParseStatusCodes("204")
			if got := c.(*check.HTTP).Status; !slices.Equal(got, sc) {
				t.Errorf("status_code: %v", got)
			}
		}},
		"url virtualhost": {"virtualhost url.example.com", func(t *testing.T, p *Plan) {
			c, _ := firstCheck(t, p)
			want(t, "url virtualhost", c.(*check.HTTP).Host, "url.example.com")
		}},
		"SMTP_CHECK helo_name": {"helo_name probe.example.com", func(t *testing.T, p *Plan) {
			c, _ := firstCheck(t, p)
			want(t, "helo_name", c.(check.SMTP).HeloName, "probe.example.com")
		}},
		"UDP_CHECK payload": {"payload 0a 0b0c f", func(t *testing.T, p *Plan) {
			c, _ := firstCheck(t, p)
			want(t, "payload (hex)", string(c.(check.UDP).Payload), "\x0a\x0b\x0c\x0f")
		}},
		"UDP_CHECK require_reply": {"require_reply", func(t *testing.T, p *Plan) {
			c, _ := firstCheck(t, p)
			want(t, "require_reply", c.(check.UDP).RequireReply, true)
		}},
		"FILE_CHECK track_file": {"track_file tf1", func(t *testing.T, p *Plan) {
			c, _ := firstCheck(t, p)
			want(t, "FILE_CHECK track_file", c.(check.File).Path, "/tmp/lvsrouter-kwprobe-track")
		}},
		"FILE_CHECK weight": {"weight -5 reverse", func(t *testing.T, p *Plan) {
			c, _ := firstCheck(t, p)
			if f := c.(check.File); f.Weight != -5 || !f.Reverse {
				t.Errorf("FILE_CHECK weight: %+v", f)
			}
		}},
		"MISC_CHECK misc_dynamic": {"misc_dynamic", func(t *testing.T, p *Plan) {
			c, _ := firstCheck(t, p)
			want(t, "misc_dynamic", c.(check.Exec).Dynamic, true)
		}},
	}
	m["top vrrp_track_file"] = effect{strings.Replace(m["top track_file"].line, "track_file tf9", "vrrp_track_file tf9", 1), m["top track_file"].show}
	for _, ctx := range []string{"TCP_CHECK", "HTTP_GET", "SSL_GET", "SMTP_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK"} {
		for kw, e := range checkerEffects(ctx) {
			m[ctx+" "+kw] = e
		}
	}
	for _, ctx := range []string{"HTTP_GET", "SSL_GET"} {
		m[ctx+" url"] = effect{"url {\n        path /second\n      }", func(t *testing.T, p *Plan) {
			c, _ := firstCheck(t, p)
			want(t, "second url", c.(*check.HTTP).Path, "/second")
		}}
		m[ctx+" virtualhost"] = effect{"virtualhost get.example.com", func(t *testing.T, p *Plan) {
			c, _ := firstCheck(t, p)
			want(t, "virtualhost", c.(*check.HTTP).Host, "get.example.com")
		}}
		m[ctx+" nb_get_retry"] = effect{"nb_get_retry 6", func(t *testing.T, p *Plan) {
			_, pol := firstCheck(t, p)
			want(t, "nb_get_retry", pol.Retry, 6)
		}}
	}
	for _, kw := range []string{"delay_before_retry", "delay_loop", "retry", "warmup"} {
		m["MISC_CHECK "+kw] = checkerEffects("MISC_CHECK")[kw]
	}
	return m
}

func want[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func isChecker[T check.Checker](t *testing.T, p *Plan) {
	t.Helper()
	if c, _ := firstCheck(t, p); !is[T](c) {
		t.Errorf("checker %T", c)
	}
}

func is[T any](v any) bool { _, ok := v.(T); return ok }

// TestKeywordEffects shows the effect of each keyword keywords.go says it
// shows: the keyword, in a minimal configuration, lands in the plan where
// the packages act on it (vrrp.Config, ipvs.Service and Destination,
// check's checkers and keepalived policy). The cases with a nil show are
// the ones whose effect needs more than one line; they are checked below.
func TestKeywordEffects(t *testing.T) {
	effects := keywordEffects()
	for _, r := range keywordTable {
		if r.Test == "TestKeywordEffects" {
			if _, ok := effects[r.Context+" "+r.Keyword]; !ok {
				t.Errorf("%s %s names TestKeywordEffects, which has no case for it", r.Context, r.Keyword)
			}
		}
	}
	dir := t.TempDir()
	for key, e := range effects {
		if e.show == nil {
			continue
		}
		ctx, kw, _ := strings.Cut(key, " ")
		t.Run(ctx+"/"+kw, func(t *testing.T) {
			text := e.line
			if ctx != "top" {
				text = makeProbe("", ctx, kw, false, e.line).Text
			}
			if kw == "state" {
				text = strings.Replace(text, "  priority 100\n", "", 1)
				// keepalivedconf's typed view keeps priority 100 as its
				// default, so the owner's 255 shows only in the plan
				e = effect{e.line, func(t *testing.T, p *Plan) {
					want(t, "state MASTER without priority", instance0(t, p).Priority, uint8(255))
				}}
			}
			path := filepath.Join(dir, "k.conf")
			mustWrite(t, path, []byte(text))
			p, _, err := load(path, anyInterface)
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			e.show(t, p)
		})
	}
	// The cases that need a second block.
	for name, tc := range map[string]struct {
		text string
		show func(*testing.T, *Plan)
	}{
		"vrrp_version": {"global_defs {\n  vrrp_version 3\n}\n" + strings.Replace(probeInstance, "@@", "", 1), func(t *testing.T, p *Plan) {
			want(t, "vrrp_version", instance0(t, p).Version, uint8(3))
		}},
		"vrrp_script timeout/user": {"vrrp_script chk {\n  script /bin/true\n  timeout 4\n  user nobody\n}\n" + strings.Replace(probeInstance, "@@", "  track_script {\n    chk\n  }\n", 1), func(t *testing.T, p *Plan) {
			ts := instance0(t, p).TrackScripts
			if len(ts) != 1 || ts[0].Timeout != 4*time.Second || ts[0].User != "nobody" {
				t.Errorf("vrrp_script timeout/user: %+v", ts)
			}
		}},
		"track_file file/weight": {"track_file tf1 {\n  file " + dir + "/other\n  weight -9\n}\n" + strings.Replace(probeInstance, "@@", "  track_file {\n    tf1\n  }\n", 1), func(t *testing.T, p *Plan) {
			if got := instance0(t, p).TrackFiles; !slices.Equal(got, []vrrp.TrackFile{{Path: dir + "/other", Weight: -9}}) {
				t.Errorf("track_file file/weight: %+v", got)
			}
		}},
		"vrrp_instance track_file": {"track_file tf1 {\n  file /x\n  weight 2\n}\n" + strings.Replace(probeInstance, "@@", "  track_file {\n    tf1 weight 3\n  }\n", 1), func(t *testing.T, p *Plan) {
			if got := instance0(t, p).TrackFiles; !slices.Equal(got, []vrrp.TrackFile{{Path: "/x", Weight: 3}}) {
				t.Errorf("track_file: %+v", got)
			}
		}},
		"FILE_CHECK": {makeProbe("", "FILE_CHECK", "", false, "").Text, func(t *testing.T, p *Plan) { isChecker[check.File](t, p) }},
		"virtual_server delay_loop/virtualhost": {strings.Replace(strings.Replace(probeVS, "@@", "  delay_loop 17\n  virtualhost vs.example.com\n", 1), "@RS@", "    HTTP_GET {\n      url {\n        path /\n      }\n    }\n", 1), func(t *testing.T, p *Plan) {
			c, pol := firstCheck(t, p)
			want(t, "delay_loop", pol.DelayLoop, 17*time.Second)
			want(t, "virtualhost", c.(*check.HTTP).Host, "vs.example.com")
		}},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, "k2.conf")
			mustWrite(t, path, []byte(tc.text))
			p, _, err := load(path, anyInterface)
			if err != nil {
				t.Fatalf("%v\n%s", err, tc.text)
			}
			tc.show(t, p)
		})
	}
}
