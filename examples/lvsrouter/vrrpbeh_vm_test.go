//go:build vm

package main

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// realMailConf checks a real server at 10.77.0.9:80 (nothing listens
// there at first) and mails its state changes to the SMTP server at
// 10.77.0.9:2525. keepalived's real servers send alerts by default.
const realMailConf = `global_defs {
    router_id LB1
    notification_email {
        ops@example.com
    }
    notification_email_from lb@example.com
    smtp_server 10.77.0.9 2525
    smtp_connect_timeout 5
}

virtual_server 10.77.0.100 80 {
    protocol TCP
    lb_algo rr
    lb_kind DR
    delay_loop 1
    real_server 10.77.0.9 80 {
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
`

// TestVMSMTPAlertRealServer runs realMailConf through keepalived (checker
// only) and lvsrouter in the kernel VM, and compares the mails an SMTP
// server on another host receives when the real server goes down and
// comes back: keepalived's subjects ("[LB1] Realserver [10.77.0.9]:tcp:80
// of virtual server [10.77.0.100]:tcp:80 - DOWN") and bodies ("=> TCP
// CHECK failed on service <=").
func TestVMSMTPAlertRealServer(t *testing.T) {
	testenv.NeedVM(t)
	bin := testenv.NeedTool(t, "keepalived")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	run := func(name string) []string {
		sw := netns.NewSwitch(t)
		lb, host := netns.New(t), netns.New(t)
		sw.Connect(lb, "eth0", netip.MustParsePrefix("10.77.0.1/24"))
		sw.Connect(host, "eth0", netip.MustParsePrefix("10.77.0.9/24"))
		lb.LinkUp("lo")
		var ln, web net.Listener
		if err := host.Do(func() (err error) {
			ln, err = net.Listen("tcp", "10.77.0.9:2525")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		srv := newSMTPServer(t, ln)
		dir := t.TempDir()
		conf := filepath.Join(dir, "keepalived.conf")
		if err := os.WriteFile(conf, []byte(realMailConf), 0o644); err != nil {
			t.Fatal(err)
		}
		pids := []string{"-p", dir + "/k.pid", "-r", dir + "/v.pid", "-c", dir + "/c.pid"}
		var p *netns.Process
		if name == "keepalived" {
			p = lb.StartEnv([]string{"TMPDIR=" + dir}, bin, append([]string{"-n", "-l", "-G", "-R", "-C", "-f", conf}, pids...)...)
		} else {
			p = lb.StartEnv([]string{"TMPDIR=" + dir, "LVSROUTER_AS_MAIN=1"}, self, append([]string{"-C", "-f", conf}, pids...)...)
		}
		defer func() {
			p.Kill()
			if t.Failed() {
				t.Logf("%s log:\n%s", name, p.Output())
			}
		}()
		srv.wait(1, 20*time.Second) // DOWN
		if err := host.Do(func() (err error) {
			web, err = net.Listen("tcp", "10.77.0.9:80")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer web.Close()
		got := srv.wait(2, 20*time.Second) // UP
		var out []string
		for _, s := range got {
			subject, body := "", ""
			lines := strings.Split(s, "\r\n")
			for i, l := range lines {
				if strings.HasPrefix(l, "Subject: ") {
					subject = strings.TrimPrefix(l, "Subject: ")
				}
				if l == "" && i+1 < len(lines) && body == "" && subject != "" {
					body = lines[i+1]
				}
			}
			if subject != "" {
				out = append(out, subject+" | "+body)
			}
		}
		return out
	}
	ka, lr := run("keepalived"), run("lvsrouter")
	t.Logf("keepalived:\n%s", strings.Join(ka, "\n"))
	t.Logf("lvsrouter:\n%s", strings.Join(lr, "\n"))
	want := []string{
		"[LB1] Realserver [10.77.0.9]:tcp:80 of virtual server [10.77.0.100]:tcp:80 - DOWN | => TCP CHECK failed on service <=",
		"[LB1] Realserver [10.77.0.9]:tcp:80 of virtual server [10.77.0.100]:tcp:80 - UP | => TCP CHECK succeed on service <=",
	}
	if !slices.Equal(lr, want) {
		t.Errorf("lvsrouter mails %q, want %q", lr, want)
	}
	if !slices.Equal(ka, lr) {
		t.Errorf("keepalived %q, lvsrouter %q", ka, lr)
	}
}
