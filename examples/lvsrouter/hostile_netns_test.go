//go:build netns

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
)

// TestHostileReloads runs lvsrouter as MASTER (its VIP on a veth in a
// namespace, keepalived as BACKUP in a peer namespace that would take the
// VIP the moment lvsrouter stopped advertising) and sends it SIGHUP with
// each hostile configuration in turn: a deeply nested block, a file that
// includes itself twice, an include of a FIFO, an include of /dev/zero,
// an interface that does not exist. Each is refused with its reason (the
// FIFO and /dev/zero as unreadable includes, with a warning) and, after
// each, lvsrouter is still the sole master holding its VIP. A
// final good configuration (a lower priority: keepalived takes over) is
// applied.
func TestHostileReloads(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "keepalived")
	a, b := interopLAN(t)
	ka := startKeepalived(t, b, "BACKUP", 100)
	lv := startLvsrouter(t, a, "MASTER", 150)
	waitSoleMaster(t, lv, ka)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.conf")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	self := filepath.Join(dir, "self.conf")
	if err := os.WriteFile(self, []byte("include "+self+"\ninclude "+self+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := string(fmt.Appendf(nil, interopConf, "lvsrouter", "MASTER", 150))
	var nested strings.Builder
	const depth = 1_000_000
	nested.WriteString(good)
	for range depth {
		nested.WriteString("x {\n")
	}
	for range depth {
		nested.WriteString("}\n")
	}
	// outcome waits for the n-th reload's outcome in lvsrouter's log and
	// returns its line and the warnings logged with it.
	outcome := func(t *testing.T, n int) (string, string) {
		t.Helper()
		var lines []string
		done := func() bool {
			lines = strings.Split(lv.p.Output(), "\n")
			k := 0
			for _, l := range lines {
				if strings.Contains(l, "msg=reloading") {
					k++
				}
			}
			if k < n {
				return false
			}
			for i := len(lines) - 1; i >= 0 && !strings.Contains(lines[i], "msg=reloading"); i-- {
				if strings.Contains(lines[i], "reload rejected") || strings.Contains(lines[i], "msg=reloaded") {
					return true
				}
			}
			return false
		}
		if !waitFor(60*time.Second, done) {
			t.Fatalf("no outcome of reload %d logged within 60s", n)
		}
		i := len(lines) - 1
		for !strings.Contains(lines[i], "msg=reloading") {
			i--
		}
		var result, warnings string
		for _, l := range lines[i+1:] {
			switch {
			case strings.Contains(l, "reload rejected"), strings.Contains(l, "msg=reloaded"):
				result = l
			case strings.Contains(l, "level=WARN"):
				warnings += l + "\n"
			}
		}
		return result, warnings
	}
	// Each hostile input is refused with its reason: the whole reload
	// (deep nesting, an include bomb, a missing interface), or, as
	// keepalivedconf reads an include that is not a regular file, that
	// include alone, with a warning naming it, the rest applying
	// unchanged.
	for n, tc := range []struct {
		name, conf, why string
		rejected        bool
	}{
		{"nested", nested.String(), "blocks nested more than", true},
		{"include bomb", good + "include " + self + "\n", self + ":1:1: include", true},
		{"fifo include", good + "include " + fifo + "\n", fifo + ": not a regular file", false},
		{"dev zero include", good + "include /dev/zero\n", "/dev/zero: not a regular file", false},
		{"missing interface", strings.ReplaceAll(good, "eth0", "eth9"), "Non-existent interface specified in configuration", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(lv.conf, []byte(tc.conf), 0o644); err != nil {
				t.Fatal(err)
			}
			lv.p.Signal(syscall.SIGHUP)
			result, warnings := outcome(t, n+1)
			t.Logf("%.300s", result)
			if tc.rejected {
				if !strings.Contains(result, "reload rejected") || !strings.Contains(result, tc.why) {
					t.Errorf("want the reload rejected naming %q", tc.why)
				}
			} else if !strings.Contains(warnings, tc.why) {
				t.Errorf("want a warning naming %q; warnings:\n%s", tc.why, warnings)
			}
			waitSoleMaster(t, lv, ka)
		})
	}
	// A good configuration still applies: priority 50 hands mastership
	// to keepalived (100), which preempts.
	if err := os.WriteFile(lv.conf, fmt.Appendf(nil, interopConf, "lvsrouter", "BACKUP", 50), 0o644); err != nil {
		t.Fatal(err)
	}
	lv.p.Signal(syscall.SIGHUP)
	waitSoleMaster(t, ka, lv)
}
