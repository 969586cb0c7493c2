package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/ipvs"
)

// TestNotifyScripts runs a Router (with an in-memory IPVS) whose real
// server is checked by a MISC_CHECK on a flag file: its notify_down and
// the service's quorum_down run when the flag goes, notify_up and
// quorum_up when it comes back, and with omega both down scripts run once
// more as the router stops. The scripts run in keepalived's order: one at
// a time, in the order of the changes, the real server's notify before the
// quorum script its change causes.
func TestNotifyScripts(t *testing.T) {
	dir := t.TempDir()
	flag, log := filepath.Join(dir, "flag"), filepath.Join(dir, "log")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	echo := func(word string) string {
		return fmt.Sprintf(`"/bin/sh -c 'echo %s >> %s'"`, word, log)
	}
	conf := fmt.Sprintf(`virtual_server 10.0.0.1 80 {
    protocol TCP
    delay_loop 0.05
    omega
    quorum_up %s
    quorum_down %s
    real_server 10.1.0.1 80 {
        notify_up %s
        notify_down %s
        MISC_CHECK {
            misc_path "/bin/sh -c 'test -e %s'"
            misc_timeout 5
        }
    }
}
`, echo("qup"), echo("qdown"), echo("up"), echo("down"), flag)
	path := filepath.Join(dir, "k.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p, _, err := load(path, anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	r := newRouter(slog.New(slog.DiscardHandler))
	if r.mon, err = check.NewMonitor(&check.MonitorConfig{OnTransition: r.onCheck, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	ops := &nullOps{}
	r.applier = ipvs.NewApplier(ops)
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.Load(ctx, p); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	logged := func(want string) {
		t.Helper()
		var got string
		for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			b, _ := os.ReadFile(log)
			if got = strings.Join(strings.Fields(string(b)), " "); got == want {
				return
			}
		}
		t.Fatalf("scripts ran %q, want %q", got, want)
	}
	// Let the first checks pass: an up server runs no script.
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if st, ok := r.mon.Stats(p.Services[0].Reals[0].Checks[0].ID); ok && st.Checks >= 2 {
			break
		}
	}
	if b, _ := os.ReadFile(log); len(b) != 0 {
		t.Fatalf("scripts ran at start: %q", b)
	}
	os.Remove(flag)
	logged("down qdown")
	mustWrite(t, flag, nil)
	logged("down qdown up qup")
	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	done <- nil // for the cleanup
	logged("down qdown up qup down qdown")
}

// TestReloadChecks reloads a Router whose real server is down: a changed
// check restarts its policy (the server is back, and stays when the new
// check passes), an unchanged one keeps its state, and a new server with
// alpha starts out of the service until its first success.
func TestReloadChecks(t *testing.T) {
	dir := t.TempDir()
	confText := func(file, extra string) string {
		return fmt.Sprintf(`virtual_server 10.0.0.1 80 {
    protocol TCP
    delay_loop 0.05
    real_server 10.1.0.1 80 {
        MISC_CHECK {
            misc_path "/bin/sh -c 'test -e %s'"
        }
    }
}
%s`, filepath.Join(dir, file), extra)
	}
	plan := func(text string) *Plan { return loadText(t, filepath.Join(dir, "k.conf"), text) }
	r := checkedRouter(t, &nullOps{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	t.Cleanup(func() {
		cancel()
		<-done
	})
	dests := func() string {
		var ds []string
		for _, s := range r.desired() {
			for _, d := range s.Destinations {
				ds = append(ds, d.Addr.String())
			}
		}
		return strings.Join(ds, " ")
	}
	waitDests := func(want string) {
		t.Helper()
		var got string
		for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if got = dests(); got == want {
				return
			}
		}
		t.Fatalf("destinations %q, want %q", got, want)
	}
	if err := r.Load(ctx, plan(confText("missing", ""))); err != nil {
		t.Fatal(err)
	}
	// While Run runs, plans come through Reload.
	go func() { done <- r.Run(ctx) }()
	waitDests("")
	mustWrite(t, filepath.Join(dir, "present"), nil)
	alpha := "virtual_server 10.0.0.2 80 {\n    protocol TCP\n    delay_loop 0.05\n    alpha\n    real_server 10.1.0.2 80 {\n        MISC_CHECK {\n            misc_path \"/bin/sh -c 'test -e " + filepath.Join(dir, "later") + "'\"\n        }\n    }\n}\n"
	if err := r.Reload(ctx, plan(confText("present", alpha))); err != nil {
		t.Fatal(err)
	}
	// The changed check restarts up and passes; the alpha server stays out
	// until its first success.
	waitDests("10.1.0.1:80")
	mustWrite(t, filepath.Join(dir, "later"), nil)
	waitDests("10.1.0.1:80 10.1.0.2:80")
}
