//go:build vm

package main

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/keepalivedconf"
)

// lvsKWCase is one LVS keyword configuration run by keepalived and by
// lvsrouter in turn.
type lvsKWCase struct {
	name string
	conf string
	// vrrp runs the VRRP side too (no -C): the case needs an instance.
	vrrp bool
	// settle is the least time to wait before reading IPVS.
	settle time.Duration
	// servers are started in the namespace before the router: "http
	// ADDR BODY" or "smtp ADDR".
	servers []string
	// files are written to the run's directory, named in conf as
	// %DIR%/NAME.
	files map[string]string
	// want and wantStopped must appear in the listings (all readers
	// joined) while running and after the stop: the keyword's effect.
	want, wantStopped []string
	// absent and absentStopped must not appear.
	absent, absentStopped []string
}

// lvsKWBase is a virtual server the global_defs cases share.
const lvsKWBase = `
virtual_server 10.0.0.100 80 {
    protocol TCP
    lb_algo rr
    lb_kind DR
    real_server 10.0.0.2 80 {
        weight 1
    }
}
`

var lvsKWCases = []lvsKWCase{
	{name: "lvs_timeouts", want: []string{"Timeout (tcp tcpfin udp): 7200 120 300"}, wantStopped: []string{"Timeout (tcp tcpfin udp): 900 120 300"}, conf: "global_defs {\n    lvs_timeouts tcp 7200 udp 300\n}\n" + lvsKWBase},
	{name: "lvs_timeouts_all", want: []string{"Timeout (tcp tcpfin udp): 3600 60 90"}, wantStopped: []string{"Timeout (tcp tcpfin udp): 900 120 300"}, conf: "global_defs {\n    lvs_timeouts tcp 3600 tcpfin 60 udp 90\n}\n" + lvsKWBase},
	{name: "lvs_sync_daemon_both", absentStopped: []string{"sync daemon"}, want: []string{"master sync daemon (mcast=eth0, syncid=7, maxlen=1400, group=239.1.2.3, port=8850, ttl=3)", "backup sync daemon (mcast=eth0, syncid=7"}, wantStopped: nil, conf: "global_defs {\n    lvs_sync_daemon eth0 id 7 maxlen 1400 port 8850 ttl 3 group 239.1.2.3\n}\n" + lvsKWBase},
	{name: "lvs_sync_daemon_instance", absent: []string{"backup sync daemon"}, absentStopped: []string{"sync daemon"}, want: []string{"master sync daemon (mcast=eth0, syncid=51, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)"}, wantStopped: nil, vrrp: true, settle: 8 * time.Second, conf: `global_defs {
    lvs_sync_daemon eth0 VI_1
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.0.0.100/24
    }
}
` + lvsKWBase},
	// With -C (keepalived's checker process alone) a daemon that follows
	// an instance is the VRRP process's: none runs; the timeouts do.
	{name: "lvs_sync_daemon_instance_check_only", want: []string{"Timeout (tcp tcpfin udp): 1000 120 300"}, absent: []string{"sync daemon"}, conf: `global_defs {
    lvs_sync_daemon eth0 VI_1
    lvs_timeouts tcp 1000
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    virtual_ipaddress {
        10.0.0.100/24
    }
}
` + lvsKWBase},
	// An instance in FAULT (a tracked file with weight 0 reads
	// non-zero) runs the backup daemon, with the syncid given.
	{name: "lvs_sync_daemon_fault", vrrp: true, settle: 8 * time.Second,
		files:  map[string]string{"down": "1\n"},
		want:   []string{"backup sync daemon (mcast=eth0, syncid=9, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)"},
		absent: []string{"master sync daemon"}, absentStopped: []string{"sync daemon"},
		conf: `global_defs {
    lvs_sync_daemon eth0 VI_2 id 9
}
vrrp_track_file DOWN {
    file %DIR%/down
    weight 0
}
vrrp_instance VI_2 {
    state MASTER
    interface eth0
    virtual_router_id 52
    priority 150
    advert_int 1
    track_file {
        DOWN
    }
    virtual_ipaddress {
        10.0.0.100/24
    }
}
` + lvsKWBase},
	{name: "sched_flags", want: []string{"sh (sh-fallback,sh-port)", "mh (mh-port)", "mh (mh-fallback)", "rr (flag-1,flag-2,flag-3)"}, wantStopped: nil, conf: `
virtual_server 10.0.0.101 80 {
    protocol TCP
    lb_algo sh
    sh-port
    sh-fallback
    lb_kind DR
    real_server 10.0.0.2 80 {
    }
}
virtual_server 10.0.0.102 80 {
    protocol TCP
    lvs_sched mh
    mh-port
    lb_kind DR
    real_server 10.0.0.2 80 {
    }
}
virtual_server 10.0.0.103 80 {
    protocol TCP
    lb_algo mh
    mh-fallback
    lb_kind DR
    real_server 10.0.0.2 80 {
    }
}
virtual_server 10.0.0.104 80 {
    protocol TCP
    lb_algo rr
    flag-1
    flag-2
    flag-3
    lb_kind DR
    real_server 10.0.0.2 80 {
    }
}
`},
	{name: "ops", want: []string{"UDP  10.0.0.105:53 rr ops", "FWM  5 wlc ops"}, wantStopped: nil, conf: `
virtual_server 10.0.0.105 53 {
    protocol UDP
    lb_algo rr
    ops
    lb_kind DR
    real_server 10.0.0.2 53 {
    }
}
virtual_server fwmark 5 {
    lb_algo wlc
    ops
    lb_kind DR
    real_server 10.0.0.2 {
    }
}
`},
	// ip_family makes a firewall-mark service IPv6 with an IPv4 real
	// server tunnelled by its own lvs_method.
	{name: "ip_family", want: []string{"FWM  9 IPv6 rr\n  -> 10.0.0.5:0                   Tunnel  1"}, conf: `
virtual_server fwmark 9 {
    ip_family inet6
    lb_algo rr
    lb_kind DR
    real_server 10.0.0.5 {
        lvs_method TUN
    }
}
`},
	{name: "persistence_engine", want: []string{"pe sip"}, wantStopped: nil, conf: `
virtual_server 10.0.0.106 5060 {
    protocol UDP
    lb_algo rr
    lb_kind DR
    persistence_timeout 360
    persistence_engine sip
    persistence_granularity 255.255.255.0
    real_server 10.0.0.2 5060 {
    }
}
`},
	{name: "thresholds_and_methods", want: []string{"10.0.0.2:8080                Masq    5", "10.0.0.3:80                  Route   0", "10.0.0.4:80                  Route   2", "10.0.0.5:80                  Tunnel  5", "10.0.0.2:8080                100        10", "10.0.0.5:80                  7          0"}, wantStopped: nil, conf: `
virtual_server 10.0.0.107 80 {
    protocol TCP
    lb_algo wlc
    lb_kind NAT
    weight 5
    sorry_server 10.0.0.3 80
    sorry_server_inhibit
    sorry_server_lvs_method DR
    real_server 10.0.0.2 8080 {
        uthreshold 100
        lthreshold 10
    }
    real_server 10.0.0.4 80 {
        weight 2
        lvs_method DR
    }
    real_server 10.0.0.5 80 {
        lvs_method TUN
        uthreshold 7
    }
}
`},
	{name: "lvs_flush", absent: []string{"10.9.9.9"}, absentStopped: []string{"10.9.9.9"}, conf: "global_defs {\n    lvs_flush\n    lvs_flush_onstop\n}\n" + lvsKWBase},
	{name: "lvs_flush_onstop_vs", want: nil, wantStopped: []string{"TCP  10.9.9.9:1 rr"}, conf: "global_defs {\n    lvs_flush_onstop VS\n}\n" + lvsKWBase},
	{name: "http_regex", want: []string{"10.0.0.108:80 rr\n  -> 10.0.0.2:8081                Masq    1      0          0         \nTCP  10.0.0.109:80 rr\n  -> 10.0.0.2:8081                Masq    0      0          0         \nTCP  10.9.9.9:1"}, wantStopped: nil, settle: 8 * time.Second,
		servers: []string{"http 10.0.0.2:8081 <html>Status: OK</html>", "http 10.0.0.2:8082 <html>Status: FAILED</html>"},
		conf: `
virtual_server 10.0.0.108 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    delay_loop 1
    real_server 10.0.0.2 8081 {
        HTTP_GET {
            url {
                path /
                regex "Status: OK"
            }
            connect_timeout 1
            retry 0
        }
    }
    real_server 10.0.0.2 8082 {
        HTTP_GET {
            url {
                path /
                regex "Status: OK"
            }
            connect_timeout 1
            retry 0
        }
    }
}
virtual_server 10.0.0.109 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    delay_loop 1
    real_server 10.0.0.2 8081 {
        inhibit_on_failure
        HTTP_GET {
            url {
                path /
                regex "status: (ok|fine)"
                regex_options caseless
                regex_no_match
            }
            connect_timeout 1
            retry 0
        }
    }
    real_server 10.0.0.2 8082 {
        HTTP_GET {
            url {
                path /
                regex "Status"
                regex_min_offset 2
                regex_max_offset 6
            }
            connect_timeout 1
            retry 0
        }
    }
}
`},
	// Quorum lost: the sorry server comes in, and the inhibited real
	// servers stay at weight 0 (keepalived "removes" them through
	// inhibit); the inhibited sorry server of the other service waits at
	// weight 0 while quorum holds.
	{name: "sorry_quorum_down", settle: 8 * time.Second,
		want: []string{"TCP  10.0.0.111:80 rr\n  -> 10.0.0.2:9                   Masq    0      0          0         \n  -> 10.0.0.2:10                  Masq    0      0          0         \n  -> 10.0.0.9:80                  Masq    1"},
		conf: `
virtual_server 10.0.0.111 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    delay_loop 1
    sorry_server 10.0.0.9 80
    real_server 10.0.0.2 9 {
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 10.0.0.2 10 {
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
`},
	{name: "smtp_host", want: []string{"TCP  10.0.0.110:25 rr\n  -> 10.0.0.2:25                  Masq    1      0          0         \nTCP  10.9.9.9:1"}, wantStopped: nil, settle: 8 * time.Second,
		servers: []string{"smtp 10.0.0.2:2525", "smtp 10.0.0.2:2526", "smtp-hangup 10.0.0.2:2527"},
		conf: `
virtual_server 10.0.0.110 25 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    delay_loop 1
    real_server 10.0.0.2 25 {
        SMTP_CHECK {
            retry 0
            host {
                connect_port 2525
                connect_timeout 1
            }
            host {
                connect_port 2526
                connect_timeout 1
            }
        }
    }
    real_server 10.0.0.4 25 {
        SMTP_CHECK {
            retry 0
            connect_ip 10.0.0.2
            connect_port 2527
            connect_timeout 1
        }
    }
    real_server 10.0.0.3 25 {
        SMTP_CHECK {
            retry 0
            host {
                connect_ip 10.0.0.2
                connect_port 2525
                connect_timeout 1
            }
            host {
                connect_ip 10.0.0.2
                connect_port 2599
                connect_timeout 1
            }
        }
    }
}
`},
}

// lvsKWReaders are the ipvsadm listings compared.
var lvsKWReaders = [][]string{
	{"-Ln"}, {"-Ln", "--timeout"}, {"-L", "--daemon"}, {"-Ln", "--thresholds"}, {"-Ln", "--persistent-conn"},
}

// TestVMLVSKeywordsMatchKeepalived runs each LVS keyword configuration
// with keepalived 2.2.7 (-n, -C unless it needs VRRP) and then with
// lvsrouter, each in a fresh namespace (IPVS state, timeouts and sync
// daemons are per namespace) holding a foreign service added by ipvsadm,
// and compares the ipvsadm listings byte for byte while running and after
// the stop.
func TestVMLVSKeywordsMatchKeepalived(t *testing.T) {
	testenv.NeedVM(t)
	bin := testenv.NeedTool(t, "keepalived")
	testenv.NeedTool(t, "ipvsadm")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range lvsKWCases {
		t.Run(c.name, func(t *testing.T) {
			k := runLVSKW(t, c, "keepalived", bin)
			l := runLVSKW(t, c, "lvsrouter", self)
			for _, phase := range []string{"running", "stopped"} {
				for i, args := range lvsKWReaders {
					kk, ll := k[phase][i], l[phase][i]
					if kk != ll {
						t.Errorf("%s: ipvsadm %s differs\nkeepalived:\n%s\nlvsrouter:\n%s", phase, strings.Join(args, " "), kk, ll)
					}
				}
			}
			for phase, want := range map[string][]string{"running": c.want, "stopped": c.wantStopped} {
				all := strings.Join(l[phase], "\n")
				for _, w := range want {
					if !strings.Contains(all, w) {
						t.Errorf("%s: listings lack %q:\n%s", phase, w, all)
					}
				}
			}
			for phase, absent := range map[string][]string{"running": c.absent, "stopped": c.absentStopped} {
				all := strings.Join(l[phase], "\n")
				for _, w := range absent {
					if strings.Contains(all, w) {
						t.Errorf("%s: listings hold %q:\n%s", phase, w, all)
					}
				}
			}
			if !t.Failed() {
				t.Logf("running, identical:\n%s\n%s\n%s", k["running"][0], k["running"][1], k["running"][2])
			}
		})
	}
}

// runLVSKW runs one case with one implementation and returns the ipvsadm
// listings while running (once stable) and after the stop.
func runLVSKW(t *testing.T, c lvsKWCase, who, bin string) map[string][]string {
	t.Helper()
	lan := netns.NewSwitch(t)
	ns := netns.New(t)
	lan.Connect(ns, "eth0", netip.MustParsePrefix("10.0.0.2/24"))
	ipvsadm := func(args ...string) string {
		out, err := ns.Command(t.Context(), "ipvsadm", args...).CombinedOutput()
		if err != nil {
			return string(out) + err.Error()
		}
		return string(out)
	}
	// A service no configuration names: lvs_flush removes it, else it
	// stays.
	if out, err := ns.Command(t.Context(), "ipvsadm", "-A", "-t", "10.9.9.9:1", "-s", "rr").CombinedOutput(); err != nil {
		t.Fatalf("ipvsadm -A: %v %s", err, out)
	}
	for _, s := range c.servers {
		startLVSKWServer(t, ns, s)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	mustWrite(t, conf, []byte(strings.ReplaceAll(c.conf, "%DIR%", dir)))
	for name, data := range c.files {
		mustWrite(t, filepath.Join(dir, name), []byte(data))
	}
	args := []string{"-f", conf, "-p", dir + "/k.pid", "-r", dir + "/v.pid", "-c", dir + "/c.pid"}
	if !c.vrrp {
		args = append(args, "-C")
	}
	env := []string{"TMPDIR=" + dir}
	if who == "keepalived" {
		args = append([]string{"-n", "-l", "-G", "-R"}, args...)
	} else {
		env = append(env, "LVSROUTER_AS_MAIN=1")
	}
	p := ns.StartEnv(env, bin, args...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log:\n%s", who, p.Output())
		}
	})
	snap := func() []string {
		out := make([]string, len(lvsKWReaders))
		for i, a := range lvsKWReaders {
			out[i] = ipvsadm(a...)
		}
		return out
	}
	settle := c.settle
	if settle == 0 {
		settle = 3 * time.Second
	}
	start := time.Now()
	var prev, cur []string
	stable := 0
	for deadline := start.Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		cur = snap()
		if prev != nil && strings.Join(prev, "\x00") == strings.Join(cur, "\x00") {
			stable++
		} else {
			stable = 0
		}
		prev = cur
		if stable >= 2 && time.Since(start) >= settle {
			break
		}
	}
	res := map[string][]string{"running": cur}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("%s: %v", who, err)
	}
	select {
	case <-p.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not stop within 30 s", who)
	}
	res["stopped"] = snap()
	return res
}

// startLVSKWServer starts "http ADDR BODY" or "smtp ADDR" in ns until the
// test ends.
func startLVSKWServer(t *testing.T, ns *netns.NS, spec string) {
	t.Helper()
	f := strings.SplitN(spec, " ", 3)
	var ln net.Listener
	if err := ns.Do(func() error {
		var err error
		ln, err = net.Listen("tcp", f[1])
		return err
	}); err != nil {
		t.Fatalf("listen %s: %v", f[1], err)
	}
	t.Cleanup(func() { ln.Close() })
	switch f[0] {
	case "http":
		body := f[2]
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, body)
		}), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	case "smtp":
		newSMTPServer(t, ln)
	case "smtp-hangup":
		// Banner and HELO answered, then the line dropped before the
		// QUIT reply.
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					c.SetDeadline(time.Now().Add(5 * time.Second))
					fmt.Fprint(c, "220 test\r\n")
					buf := make([]byte, 512)
					c.Read(buf)
					fmt.Fprint(c, "250 ok\r\n")
				}()
			}
		}()
	default:
		t.Fatalf("unknown server %q", spec)
	}
}

// TestLVSKWConfigsTranslate checks, on the host, that every configuration
// of TestVMLVSKeywordsMatchKeepalived reads and translates without an
// error or warning (lvsrouter -t would pass it).
func TestLVSKWConfigsTranslate(t *testing.T) {
	for _, c := range lvsKWCases {
		f, err := keepalivedconf.Parse(c.name+".conf", []byte(strings.ReplaceAll(c.conf, "%DIR%", "/tmp")))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		cfg, err := f.Config()
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(cfg.Warnings) > 0 {
			t.Errorf("%s: warnings: %v", c.name, cfg.Warnings)
		}
		p, err := Translate(cfg)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(p.Warnings) > 0 {
			t.Errorf("%s: %v", c.name, p.Warnings)
		}
	}
}

// TestVMLVSGlobalsFollowReload reloads lvsrouter (SIGHUP) through three
// global_defs: new timeouts and sync daemon; then a changed sync daemon
// and only a UDP timeout (TCP and TCP FIN back to the kernel's values, as
// keepalived puts back what it does not set); then none (all back, no
// daemon). keepalived's checker process does the same on reload.
func TestVMLVSGlobalsFollowReload(t *testing.T) {
	testenv.NeedVM(t)
	testenv.NeedTool(t, "ipvsadm")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	lan := netns.NewSwitch(t)
	ns := netns.New(t)
	lan.Connect(ns, "eth0", netip.MustParsePrefix("10.0.0.2/24"))
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	steps := []struct{ globals, timeout, daemon string }{
		{"lvs_timeouts tcp 7200 tcpfin 60 udp 200\n    lvs_sync_daemon eth0 id 3", "7200 60 200", "master sync daemon (mcast=eth0, syncid=3, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\nbackup sync daemon (mcast=eth0, syncid=3, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n"},
		{"lvs_timeouts udp 100\n    lvs_sync_daemon eth0 id 4 port 9000", "900 120 100", "master sync daemon (mcast=eth0, syncid=4, maxlen=1472, group=224.0.0.81, port=9000, ttl=1)\nbackup sync daemon (mcast=eth0, syncid=4, maxlen=1472, group=224.0.0.81, port=9000, ttl=1)\n"},
		{"", "900 120 300", ""},
	}
	write := func(globals string) {
		mustWrite(t, conf, []byte("global_defs {\n    "+globals+"\n}\n"+lvsKWBase))
	}
	write(steps[0].globals)
	p := ns.StartEnv([]string{"TMPDIR=" + dir, "LVSROUTER_AS_MAIN=1"}, self, "-f", conf, "-C", "-p", dir+"/k.pid", "-c", dir+"/c.pid")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("lvsrouter log:\n%s", p.Output())
		}
	})
	read := func(args ...string) string {
		out, _ := ns.Command(t.Context(), "ipvsadm", args...).CombinedOutput()
		return string(out)
	}
	for i, st := range steps {
		if i > 0 {
			write(st.globals)
			if err := p.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
		}
		wantT := "Timeout (tcp tcpfin udp): " + st.timeout + "\n"
		var gotT, gotD string
		if !waitFor(30*time.Second, func() bool {
			gotT, gotD = read("-Ln", "--timeout"), read("-L", "--daemon")
			return gotT == wantT && gotD == st.daemon
		}) {
			t.Fatalf("step %d: timeouts %q daemons %q, want %q %q", i, gotT, gotD, wantT, st.daemon)
		}
		t.Logf("step %d: %s%s", i, gotT, gotD)
	}
}
