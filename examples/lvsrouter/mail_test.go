package main

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/vrrp"
)

// smtpServer is a minimal SMTP server for tests: it accepts every
// command and keeps each session's transcript (client lines only).
type smtpServer struct {
	ln  net.Listener
	mu  sync.Mutex
	got []string // one transcript per session, in the order they connected
	// finished counts the sessions over: a session records its
	// transcript as it ends, which may be after the next one ended.
	finished int
	done     chan struct{}
	wg       sync.WaitGroup
}

func newSMTPServer(t *testing.T, ln net.Listener) *smtpServer {
	s := &smtpServer{ln: ln, done: make(chan struct{})}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			i := len(s.got)
			s.got = append(s.got, "")
			s.mu.Unlock()
			s.wg.Go(func() { s.session(c, i) })
		}
	})
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *smtpServer) session(c net.Conn, i int) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	var tr strings.Builder
	defer func() {
		s.mu.Lock()
		s.got[i] = tr.String()
		s.finished++
		s.mu.Unlock()
	}()
	io.WriteString(c, "220 test ESMTP\r\n")
	data := false
	for range 1000 {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		tr.WriteString(line)
		switch {
		case data:
			if line == ".\r\n" {
				data = false
				io.WriteString(c, "250 queued\r\n")
			}
		case strings.HasPrefix(line, "DATA"):
			data = true
			io.WriteString(c, "354 go on\r\n")
		case strings.HasPrefix(line, "QUIT"):
			io.WriteString(c, "221 bye\r\n")
			return
		default:
			io.WriteString(c, "250 ok\r\n")
		}
	}
}

// wait returns the transcripts once n sessions ended (or after d).
func (s *smtpServer) wait(n int, d time.Duration) []string {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		s.mu.Lock()
		if s.finished >= n {
			out := append([]string(nil), s.got...)
			s.mu.Unlock()
			return out
		}
		s.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

func listenLoopback(t *testing.T) (net.Listener, netip.AddrPort) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, netip.MustParseAddrPort(ln.Addr().String())
}

// The mail goes out as keepalived sends it: HELO, MAIL FROM, one RCPT TO
// per address, and its headers, subject and body.
func TestSMTPAlertTranscript(t *testing.T) {
	ln, ap := listenLoopback(t)
	srv := newSMTPServer(t, ln)
	m := newMailer(slog.New(slog.DiscardHandler), &Plan{Mail: MailPlan{
		Server: ap.Addr().String(), Port: ap.Port(), From: "lb@example.com", To: []string{"a@example.com", "b@example.com"},
		Helo: "lb1", RouterID: "LB1", Instances: map[string]bool{"VI_1": true},
	}}, nil)
	m.now = func() time.Time { return time.Date(2026, 3, 1, 9, 44, 8, 0, time.UTC) }
	m.vrrpState(false, "VI_1", "MASTER")
	m.vrrpState(false, "VI_1", "MASTER") // the same state: no second mail
	m.vrrpState(false, "VI_2", "MASTER") // not alerting
	m.wait()
	got := srv.wait(1, 5*time.Second)
	want := "HELO lb1\r\nMAIL FROM:<lb@example.com>\r\nRCPT TO:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n" +
		"Date: Sun, 01 Mar 2026 09:44:08 +0000\r\nFrom: lb@example.com\r\nSubject: [LB1] VRRP Instance VI_1 - Entering MASTER state\r\n" +
		"X-Mailer: Keepalived\r\nTo: a@example.com, b@example.com\r\n\r\n=> VRRP Instance is now owning VRRP VIPs <=\r\n\r\n.\r\nQUIT\r\n"
	if len(got) != 1 || got[0] != want {
		t.Fatalf("sessions %q\nwant one: %q", got, want)
	}
}

// Router: a VRRP transition mails the instance's state (no mail for FAULT
// under no_email_faults), a sync group's state once every member is in it,
// and a failing check its real server's DOWN, all through a real SMTP
// session.
func TestSMTPAlertRouter(t *testing.T) {
	ln, ap := listenLoopback(t)
	srv := newSMTPServer(t, ln)
	conf := `global_defs {
    router_id LB1
    notification_email {
        ops@example.com
    }
    notification_email_from lb@example.com
    smtp_server ` + ap.Addr().String() + ` ` + ap.String()[len(ap.Addr().String())+1:] + `
    smtp_alert
    no_email_faults
}
vrrp_sync_group G1 {
    group {
        VI_1
        VI_2
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.100/32
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    virtual_ipaddress {
        10.0.0.101/32
    }
}
virtual_server 10.0.0.100 80 {
    protocol TCP
    lb_algo rr
    lb_kind DR
    real_server 10.0.0.2 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`
	r, p := mailRouter(t, conf)
	now := time.Now()
	for _, tr := range []struct {
		name string
		t    vrrp.Transition
	}{
		{"VI_1", vrrp.Transition{From: vrrp.StateBackup, To: vrrp.StateMaster, At: now}},
		{"VI_2", vrrp.Transition{From: vrrp.StateBackup, To: vrrp.StateMaster, At: now}},
		{"VI_1", vrrp.Transition{From: vrrp.StateMaster, To: vrrp.StateFault, Reason: vrrp.ReasonFault, At: now}},
	} {
		r.onVRRP(tr.name, tr.t)
		r.groupTransition(tr.name, tr.t) // vrrp's OnNotified
	}
	id := p.Services[0].Reals[0].Checks[0].ID
	r.onCheck(check.Transition{ID: id, Kind: check.StateChange, Up: false})
	r.mail.wait()
	got := srv.wait(4, 5*time.Second)
	var subjects []string
	for _, s := range got {
		for _, l := range strings.Split(s, "\r\n") {
			if strings.HasPrefix(l, "Subject: ") {
				subjects = append(subjects, strings.TrimPrefix(l, "Subject: "))
			}
		}
	}
	want := []string{
		"[LB1] VRRP Instance VI_1 - Entering MASTER state",
		"[LB1] VRRP Instance VI_2 - Entering MASTER state",
		"[LB1] VRRP Group G1 - Entering MASTER state",
		"[LB1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.100]:tcp:80 - DOWN",
	}
	if strings.Join(subjects, "\n") != strings.Join(want, "\n") {
		t.Fatalf("subjects:\n%s\nwant:\n%s", strings.Join(subjects, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(got[3], "\r\n=> TCP CHECK failed on service <=\r\n") {
		t.Errorf("real server body: %q", got[3])
	}
}

// mailRouter is a Router on conf's plan with its mailer, no scripts run,
// for the tests that drive desired() by hand and read the mails.
func mailRouter(t *testing.T, conf string) (*Router, *Plan) {
	t.Helper()
	p, err := translateText(t, conf)
	if err != nil {
		t.Fatal(err)
	}
	r := newRouter(slog.New(slog.DiscardHandler))
	r.plan = p
	r.mail = newMailer(r.log, p, nil)
	r.groups.reset(p)
	r.script = func([]string) {}
	return r, p
}
