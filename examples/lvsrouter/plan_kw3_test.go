package main

import (
	"log/slog"
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
	p, err := translateText(t, conf)
	if err != nil {
		t.Fatal(err)
	}
	r := newRouter(slog.New(slog.DiscardHandler))
	r.plan = p
	r.mail = newMailer(r.log, p, nil)
	r.groups.reset(p)
	r.script = func([]string) {}
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
	p, err := translateText(t, conf)
	if err != nil {
		t.Fatal(err)
	}
	r := newRouter(slog.New(slog.DiscardHandler))
	r.plan = p
	r.mail = newMailer(r.log, p, nil)
	r.groups.reset(p)
	r.script = func([]string) {}
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
