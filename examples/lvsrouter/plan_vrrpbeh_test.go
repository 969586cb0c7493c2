package main

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/vrrp"
)

const behaviourInstance = `
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.0.0.100/32
    }
    %s
}
`

func behaviourConf(global, inst string) string {
	return "global_defs {\n" + global + "\n}\n" + strings.Replace(behaviourInstance, "%s", inst, 1)
}

// The GARP settings reach vrrp.GARP with keepalived's precedence and
// defaults: instance over global over 5 messages now and 5 more after 5 s;
// the lower-priority bursts follow the global settings; vrrp_min_garp
// leaves one message and no second burst.
func TestTranslateGARPSettings(t *testing.T) {
	for _, tc := range []struct {
		name, global, inst string
		want               vrrp.GARP
	}{
		{"defaults", "", "", vrrp.GARP{Repeat: 5, Delay: 5 * time.Second, RefreshRepeat: 1, LowerPrioRepeat: 5, LowerPrioDelay: 5 * time.Second}},
		{"global", "vrrp_garp_master_delay 2\nvrrp_garp_master_repeat 3\nvrrp_garp_master_refresh 7\nvrrp_garp_master_refresh_repeat 2\nvrrp_garp_interval 0.05", "",
			vrrp.GARP{Repeat: 3, Delay: 2 * time.Second, Refresh: 7 * time.Second, RefreshRepeat: 2, LowerPrioRepeat: 3, LowerPrioDelay: 2 * time.Second, Interval: 50 * time.Millisecond}},
		{"instance over global", "vrrp_garp_master_repeat 3", "garp_master_repeat 2\ngarp_master_delay 0\ngarp_lower_prio_repeat 0",
			vrrp.GARP{Repeat: 2, Delay: -1, RefreshRepeat: 1, LowerPrioRepeat: -1, LowerPrioDelay: 5 * time.Second}},
		{"lower prio global", "vrrp_garp_lower_prio_repeat 1\nvrrp_garp_lower_prio_delay 0", "",
			vrrp.GARP{Repeat: 5, Delay: 5 * time.Second, RefreshRepeat: 1, LowerPrioRepeat: 1, LowerPrioDelay: -1}},
		{"min garp", "vrrp_min_garp", "", vrrp.GARP{Repeat: 1, Delay: -1, RefreshRepeat: 1, LowerPrioRepeat: 1, LowerPrioDelay: -1}},
	} {
		p, err := translateText(t, behaviourConf(tc.global, tc.inst))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(p.Warnings) != 0 {
			t.Errorf("%s: warnings %q", tc.name, p.Warnings)
		}
		if got := p.Instances[0].GARP; !sameGARP(got, tc.want) {
			t.Errorf("%s: GARP %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}

// Values keepalived reports (and -t fails on) are warnings with their place.
func TestTranslateGARPBadValues(t *testing.T) {
	for _, g := range []string{"vrrp_garp_interval 0", "vrrp_garp_master_repeat 0", "vrrp_garp_master_delay x", "vrrp_startup_delay 0"} {
		p, err := translateText(t, behaviourConf(g, ""))
		if err != nil {
			t.Fatalf("%s: %v", g, err)
		}
		if len(p.Warnings) != 1 || !strings.HasPrefix(p.Warnings[0], "t.conf:2:") {
			t.Errorf("%s: warnings %q, want one at t.conf:2", g, p.Warnings)
		}
	}
}

// How a master answers other masters, and what vrrp_strict implies.
func TestTranslateAdvertBehaviour(t *testing.T) {
	p, err := translateText(t, behaviourConf("vrrp_lower_prio_no_advert\nvrrp_higher_prio_send_advert\nvrrp_startup_delay 2.5", ""))
	if err != nil {
		t.Fatal(err)
	}
	c := p.Instances[0]
	if !c.LowerPrioNoAdvert || !c.HigherPrioSendAdvert || p.StartupDelay != 2500*time.Millisecond {
		t.Errorf("global: %v %v %v", c.LowerPrioNoAdvert, c.HigherPrioSendAdvert, p.StartupDelay)
	}
	p, err = translateText(t, behaviourConf("vrrp_lower_prio_no_advert", "lower_prio_no_advert off"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Instances[0].LowerPrioNoAdvert {
		t.Error("instance off does not override global on")
	}
	p, err = translateText(t, behaviourConf("vrrp_strict", "higher_prio_send_advert\nauthentication {\nauth_type PASS\nauth_pass x\n}"))
	if err != nil {
		t.Fatal(err)
	}
	c = p.Instances[0]
	if !c.LowerPrioNoAdvert || c.HigherPrioSendAdvert || c.GARP.LowerPrioRepeat != -1 || c.AuthType != vrrp.AuthNone {
		t.Errorf("strict: %+v", c)
	}
	if len(p.Warnings) != 2 {
		t.Errorf("strict: warnings %q, want the auth and higher_prio_send_advert resets", p.Warnings)
	}
	_, err = translateText(t, behaviourConf("vrrp_strict", "unicast_peer {\n10.0.0.2\n}"))
	if err == nil || !strings.Contains(err.Error(), "Unicast peers are not supported in strict mode") {
		t.Errorf("strict unicast: %v", err)
	}
}

// track_process reaches vrrp with the instance's weight over the
// process's; the start/end delays are refused with their place.
func TestTranslateTrackProcess(t *testing.T) {
	conf := "vrrp_track_process TP {\n process haproxy -f x.cfg\n weight 10\n quorum 2\n quorum_max 3\n}\n" +
		behaviourConf("", "track_process {\nTP weight -5 reverse\n}")
	p, err := translateText(t, conf)
	if err != nil {
		t.Fatal(err)
	}
	got := p.Instances[0].TrackProcesses
	want := vrrp.TrackProcess{Name: "TP", Process: "haproxy", FullCommand: true, Params: []string{"-f", "x.cfg"}, Quorum: 2, QuorumMax: 3, Weight: -5, Reverse: true}
	if len(got) != 1 || !sameTrackProcess(got[0], want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	_, err = translateText(t, strings.Replace(conf, " quorum 2\n", " fork_delay 1\n", 1))
	if err == nil || !strings.Contains(err.Error(), "t.conf:4:2: vrrp_track_process TP: fork_delay is not supported by lvsrouter") {
		t.Errorf("fork_delay: %v", err)
	}
}

// The instance-level garp_* forms, and vrrp_gna_interval for IPv6.
func TestTranslateGARPInstanceAndGNA(t *testing.T) {
	p, err := translateText(t, behaviourConf("vrrp_garp_interval 0.01\nvrrp_gna_interval 0.05",
		"garp_master_refresh 9\ngarp_master_refresh_repeat 3\ngarp_lower_prio_delay 4\ngarp_lower_prio_repeat 2"))
	if err != nil {
		t.Fatal(err)
	}
	want := vrrp.GARP{Repeat: 5, Delay: 5 * time.Second, Refresh: 9 * time.Second, RefreshRepeat: 3, LowerPrioRepeat: 2, LowerPrioDelay: 4 * time.Second, Interval: 10 * time.Millisecond}
	if got := p.Instances[0].GARP; !sameGARP(got, want) {
		t.Errorf("GARP %+v\nwant %+v", got, want)
	}
	p, err = translateText(t, strings.Replace(behaviourConf("vrrp_garp_interval 0.01\nvrrp_gna_interval 0.05", ""), "10.0.0.100/32", "fd00::100/128", 1))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Instances[0].GARP.Interval; got != 50*time.Millisecond {
		t.Errorf("IPv6 instance: interval %v, want vrrp_gna_interval's 50ms", got)
	}
}

// The mail settings: helo name, which instances and real servers alert
// (smtp_alert_vrrp over smtp_alert; a real server's own smtp_alert over
// smtp_alert_checker), no_checker_emails; smtp_alert_checker also turns
// on the virtual servers' quorum alerts, and their own smtp_alert wins.
func TestTranslateMailPlan(t *testing.T) {
	vs := "\nvirtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n  TCP_CHECK {\n  }\n }\n real_server 10.0.0.3 80 {\n  smtp_alert off\n  TCP_CHECK {\n  }\n }\n}\n"
	mail := "notification_email {\na@example.com\n}\nsmtp_server 10.0.0.9\nsmtp_helo_name lb1.example.com\nno_checker_emails\n"
	p, err := translateText(t, behaviourConf(mail+"smtp_alert\nsmtp_alert_vrrp off", "")+vs)
	if err != nil {
		t.Fatal(err)
	}
	m := p.Mail
	if m.Helo != "lb1.example.com" || !m.NoCheckerEmails || m.Instances["VI_1"] || len(m.Checks) != 1 {
		t.Errorf("mail plan %+v", m)
	}
	for _, a := range m.Checks {
		if a.RS != "[10.0.0.2]:tcp:80" || a.VS != "[10.0.0.1]:tcp:80" || a.Down != "=> TCP CHECK failed on service <=" {
			t.Errorf("alert %+v", a)
		}
	}
	if len(m.Services) != 1 || m.Services["[10.0.0.1]:tcp:80"].Name != "[10.0.0.1]:tcp:80" {
		t.Errorf("smtp_alert: quorum alerts %+v", m.Services)
	}
	p, err = translateText(t, behaviourConf(mail+"smtp_alert_checker", "")+vs)
	if err != nil || len(p.Mail.Services) != 1 {
		t.Errorf("smtp_alert_checker: %v %+v", err, p.Mail.Services)
	}
	off := strings.Replace(vs, " protocol TCP\n", " protocol TCP\n smtp_alert off\n", 1)
	p, err = translateText(t, behaviourConf(mail+"smtp_alert_checker", "")+off)
	if err != nil || len(p.Mail.Services) != 0 {
		t.Errorf("virtual_server smtp_alert off: %v %+v", err, p.Mail.Services)
	}
}

// no_checker_emails: a check's change mails only when its real server's
// state changes.
func TestNoCheckerEmails(t *testing.T) {
	ln, ap := listenLoopback(t)
	srv := newSMTPServer(t, ln)
	plan := &Plan{Mail: MailPlan{Server: ap.Addr().String(), Port: ap.Port(), From: "f@x", To: []string{"t@x"}, Helo: "h",
		NoCheckerEmails: true, Checks: map[string]RealAlert{"a": {RS: "rs", VS: "vs", Up: "up", Down: "down"}}}}
	m := newMailer(slog.New(slog.DiscardHandler), plan, nil)
	m.checkState("a", false, false, false) // the real server was down already
	m.checkState("a", false, true, false)  // it goes down now
	m.wait()
	if got := srv.wait(1, 5*time.Second); len(got) != 1 || !strings.Contains(got[0], "Subject: Realserver rs of virtual server vs - DOWN\r\n") {
		t.Errorf("sessions %q", got)
	}
}

// TestRealServerSMTPAlertOverDefault: a real server's own smtp_alert
// (on, off, or left out) decides whether its checks mail, over the
// global default in either direction.
func TestRealServerSMTPAlertOverDefault(t *testing.T) {
	vs := "\nvirtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n  smtp_alert\n  TCP_CHECK {\n  }\n }\n real_server 10.0.0.3 80 {\n  smtp_alert off\n  TCP_CHECK {\n  }\n }\n real_server 10.0.0.4 80 {\n  TCP_CHECK {\n  }\n }\n}\n"
	mail := "notification_email {\na@example.com\n}\nsmtp_server 10.0.0.9\n"
	for _, tc := range []struct {
		global string
		want   []string
	}{
		{"", []string{"[10.0.0.2]:tcp:80", "[10.0.0.4]:tcp:80"}},
		{"smtp_alert_checker off", []string{"[10.0.0.2]:tcp:80"}},
		{"smtp_alert_checker", []string{"[10.0.0.2]:tcp:80", "[10.0.0.4]:tcp:80"}},
	} {
		p, err := translateText(t, behaviourConf(mail+tc.global, "")+vs)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range p.Mail.Checks {
			got = append(got, a.RS)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("global %q: real servers alerting %q, want %q", tc.global, got, tc.want)
		}
	}
}
