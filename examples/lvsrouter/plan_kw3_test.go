package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
)

// virtual_server smtp_alert: quorum changes mail as keepalived 2.2.7's
// do_vs_notifies (ipwrapper.c) and smtp.c write them: subject
// "[router_id] Virtualserver VS - UP|DOWN", body "=> Lost quorum Q+H=T <=
// W <=" with T the threshold just crossed (quorum-hysteresis when lost,
// quorum+hysteresis when gained); changes inside the hysteresis band send
// nothing; omega mails "=> Shutting down <=" at stop instead of the loss
// the stop causes. A real SMTP session carries each mail.
func TestSMTPAlertQuorumLikeKeepalived(t *testing.T) {
	ln, ap := listenLoopback(t)
	srv := newSMTPServer(t, ln)
	conf := `global_defs {
    router_id LB1
    notification_email {
        ops@example.com
    }
    notification_email_from lb@example.com
    smtp_server ` + ap.Addr().String() + ` ` + ap.String()[len(ap.Addr().String())+1:] + `
}
virtual_server 10.0.0.100 80 {
    protocol TCP
    lb_algo rr
    lb_kind DR
    quorum 2
    hysteresis 1
    omega
    smtp_alert
    real_server 10.0.0.2 80 {
        smtp_alert off
        TCP_CHECK {
        }
    }
    real_server 10.0.0.3 80 {
        smtp_alert off
        TCP_CHECK {
        }
    }
    real_server 10.0.0.4 80 {
        smtp_alert off
        TCP_CHECK {
        }
    }
}
virtual_server 10.0.0.101 80 {
    protocol TCP
    real_server 10.0.0.2 80 {
        smtp_alert off
        TCP_CHECK {
        }
    }
}
`
	r, p := mailRouter(t, conf)
	r.desired() // start: quorum, no mail
	set := func(svc, real int, up bool) {
		r.onCheck(check.Transition{ID: p.Services[svc].Reals[real].Checks[0].ID, Kind: check.StateChange, Up: up})
		r.desired()
	}
	set(0, 0, false) // 2 >= 2-1: keeps quorum
	set(0, 1, false) // 1 >= 1: keeps quorum
	set(0, 2, false) // 0: lost
	set(1, 0, false) // the second service does not alert
	set(0, 0, true)  // 1 < 2+1
	set(0, 1, true)  // 2 < 3
	set(0, 2, true)  // 3: gained
	r.mail.shutdownMails()
	set(0, 2, false) // after the stop: no quorum mail
	r.mail.wait()
	got := srv.wait(3, 5*time.Second)
	type mailText struct{ subject, body string }
	var mails []mailText
	for _, s := range got {
		var m mailText
		head, body, _ := strings.Cut(s, "X-Mailer: Keepalived\r\nTo: ops@example.com\r\n\r\n")
		for _, l := range strings.Split(head, "\r\n") {
			if v, ok := strings.CutPrefix(l, "Subject: "); ok {
				m.subject = v
			}
		}
		m.body, _, _ = strings.Cut(body, "\r\n")
		mails = append(mails, m)
	}
	want := []mailText{
		{"[LB1] Virtualserver [10.0.0.100]:tcp:80 - DOWN", "=> Lost quorum 2+1=1 <= 0 <="},
		{"[LB1] Virtualserver [10.0.0.100]:tcp:80 - UP", "=> Gained quorum 2+1=3 <= 3 <="},
		{"[LB1] Virtualserver [10.0.0.100]:tcp:80 - DOWN", "=> Shutting down <="},
	}
	if len(mails) != len(want) {
		t.Fatalf("mails %q\nwant %q", mails, want)
	}
	for i := range want {
		if mails[i] != want[i] {
			t.Errorf("mail %d: %q, want %q", i, mails[i], want[i])
		}
	}
}

// A virtual server with a sorry server that starts without quorum mails
// keepalived's "Starting with quorum down" (update_quorum_state at init).
func TestSMTPAlertQuorumStartDown(t *testing.T) {
	ln, ap := listenLoopback(t)
	srv := newSMTPServer(t, ln)
	conf := `global_defs {
    router_id LB1
    notification_email {
        ops@example.com
    }
    smtp_server ` + ap.Addr().String() + ` ` + ap.String()[len(ap.Addr().String())+1:] + `
    smtp_alert_checker
}
virtual_server_group G {
    10.0.0.100 80
    10.0.0.101 80
}
virtual_server group G {
    protocol TCP
    sorry_server 10.0.0.9 80
    real_server 10.0.0.2 80 {
        smtp_alert off
        TCP_CHECK {
        }
    }
}
`
	r, p := mailRouter(t, conf)
	for _, v := range p.Services {
		r.down[v.Reals[0].Checks[0].ID] = true // alpha: down at start
	}
	r.desired()
	r.mail.wait()
	got := srv.wait(1, 5*time.Second)
	if len(got) != 1 || !strings.Contains(got[0], "Subject: [LB1] Virtualserver [G]:0 - DOWN\r\n") ||
		!strings.Contains(got[0], "\r\n\r\n=> Starting with quorum down 1+0=1 <= 0 <=\r\n") {
		t.Fatalf("one mail for the group, got %q", got)
	}
}

const extraConf = `global_defs {
%s
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.0.0.100/32
        10.0.1.1/24 dev eth1
        10.0.1.2/24 dev eth1
        10.0.3.1/24 dev vrrp.52
        10.0.0.101/32 dev eth0
    }
    virtual_ipaddress_excluded {
        10.0.2.1/24 dev eth2
    }
%s
}
vrrp_instance VI_2 {
    interface eth0
    use_vmac
    virtual_router_id 52
    priority 100
    virtual_ipaddress {
        10.0.3.2/24
    }
}
`

// vrrp_garp_extra_if / garp_extra_if as keepalived 2.2.7 reads them: the
// VMAC interfaces lvsrouter creates always, the others only with "all",
// never the instance's own; an instance's own setting (and its "all")
// over the global one; garp_extra_if 0 turns it off; the deprecated
// vrrp_vmac_garp_intvl works and fails -t; bad values are reported and
// ignored.
func TestTranslateGARPExtraIf(t *testing.T) {
	for _, tc := range []struct {
		name, global, inst string
		interval           time.Duration
		devs               []string
		warn               string
	}{
		{"none", "", "", 0, nil, ""},
		{"global vmac only", "vrrp_garp_extra_if 5", "", 5 * time.Second, []string{"vrrp.52"}, ""},
		{"global all", "vrrp_garp_extra_if all 7", "", 7 * time.Second, []string{"eth1", "vrrp.52", "eth2"}, ""},
		{"instance over global", "vrrp_garp_extra_if 5", "garp_extra_if 3 all", 3 * time.Second, []string{"eth1", "vrrp.52", "eth2"}, ""},
		{"instance keeps global all", "vrrp_garp_extra_if 5 all", "", 5 * time.Second, []string{"eth1", "vrrp.52", "eth2"}, ""},
		{"instance off", "vrrp_garp_extra_if 5 all", "garp_extra_if 0", 0, nil, ""},
		{"deprecated", "vrrp_vmac_garp_intvl 4", "", 4 * time.Second, []string{"vrrp.52"}, `t.conf:2:1: Keyword "vrrp_vmac_garp_intvl" is deprecated`},
		{"no time", "vrrp_garp_extra_if all", "", 0, nil, "t.conf:2:1: vrrp_garp_extra_if specified without time - ignoring"},
		{"global zero", "vrrp_garp_extra_if 0", "", 0, nil, "t.conf:2:1: vrrp_garp_extra_if '0' invalid - ignoring"},
		{"too large", "", "garp_extra_if 86401", 0, nil, "garp_extra_if '86401' invalid - ignoring"},
	} {
		p, err := translateText(t, fmt.Sprintf(extraConf, tc.global, tc.inst))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		g := p.Instances[0].GARP
		if g.ExtraInterval != tc.interval || !slices.Equal(g.ExtraDevs, tc.devs) {
			t.Errorf("%s: extra %v on %v, want %v on %v", tc.name, g.ExtraInterval, g.ExtraDevs, tc.interval, tc.devs)
		}
		if p.Instances[1].GARP.ExtraInterval != 0 {
			t.Errorf("%s: VI_2 (no extra interfaces) %v", tc.name, p.Instances[1].GARP)
		}
		w := strings.Join(p.Warnings, "\n")
		if (tc.warn == "") != (w == "") || !strings.Contains(w, tc.warn) {
			t.Errorf("%s: warnings %q, want %q", tc.name, w, tc.warn)
		}
	}
}

// garp_group: the group's garp_interval (IPv4) or gna_interval (IPv6)
// spaces the messages of instances on its interfaces, over
// vrrp_garp_interval; an interface in a group without the family's
// interval gets none; keepalived's reports (no delay, interface twice,
// bad value) fail -t, and an interface the host lacks fails the check.
func TestTranslateGARPGroup(t *testing.T) {
	conf := `global_defs {
    vrrp_garp_interval 0.2
    vrrp_gna_interval 0.2
}
garp_group {
    garp_interval 0.05
    interfaces {
        eth0
        eth9
    }
}
garp_group {
    gna_interval 0.03
    interface eth1
}
vrrp_instance V4 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.0.0.100/32
    }
}
vrrp_instance V4b {
    interface eth1
    virtual_router_id 52
    priority 100
    virtual_ipaddress {
        10.0.1.100/32
    }
}
vrrp_instance V6 {
    interface eth1
    virtual_router_id 53
    priority 100
    virtual_ipaddress {
        fd00::100/128
    }
}
vrrp_instance Other {
    interface eth2
    virtual_router_id 54
    priority 100
    virtual_ipaddress {
        10.0.2.100/32
    }
}
`
	p, err := translateText(t, conf)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{"V4": 50 * time.Millisecond, "V4b": 0, "V6": 30 * time.Millisecond, "Other": 200 * time.Millisecond}
	for _, c := range p.Instances {
		if c.GARP.Interval != want[c.Name] {
			t.Errorf("%s: interval %v, want %v", c.Name, c.GARP.Interval, want[c.Name])
		}
	}
	if len(p.Warnings) != 0 {
		t.Errorf("warnings %q", p.Warnings)
	}
	err = checkGARPGroups(p, func(n string) bool { return n != "eth9" })
	if err == nil || !strings.Contains(err.Error(), "t.conf:9:9: WARNING - interface eth9 specified for garp_group doesn't exist") {
		t.Errorf("missing interface: %v", err)
	}
	if checkGARPGroups(p, func(string) bool { return true }) != nil {
		t.Error("all interfaces present: refused")
	}
	bad := "garp_group {\n interface eth0\n}\ngarp_group {\n garp_interval x\n gna_interval 1\n interface eth0\n}\n" +
		"garp_group {\n garp_interval 1\n interface eth1\n}\ngarp_group {\n garp_interval 2\n interface eth1\n}\n" +
		strings.Replace(behaviourInstance, "%s", "", 1)
	p, err = translateText(t, bad)
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(p.Warnings, "\n")
	for _, s := range []string{"t.conf:1:1: garp group does not have any delay set - removing", "t.conf:5:2: garp_group garp_interval 'x' invalid", "t.conf:15:2: garp_group already specified for eth1 - ignoring"} {
		if !strings.Contains(w, s) {
			t.Errorf("warnings %q lack %q", w, s)
		}
	}
	if p.Instances[0].GARP.Interval != 0 {
		t.Errorf("eth0 in a group with only gna_interval: garp interval %v", p.Instances[0].GARP.Interval)
	}
}
