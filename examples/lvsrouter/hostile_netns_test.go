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
// an interface that does not exist. Each reload is refused with its reason
// and, after each, lvsrouter is still the sole master holding its VIP. A
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
	rejected := 0
	for _, tc := range []struct{ name, conf, why string }{
		{"nested", nested.String(), ""},
		{"include bomb", good + "include " + self + "\n", ""},
		{"fifo include", good + "include " + fifo + "\n", "fifo"},
		{"dev zero include", good + "include /dev/zero\n", "/dev/zero"},
		{"missing interface", strings.ReplaceAll(good, "eth0", "eth9"), "Non-existent interface specified in configuration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(lv.conf, []byte(tc.conf), 0o644); err != nil {
				t.Fatal(err)
			}
			lv.p.Signal(syscall.SIGHUP)
			rejected++
			if !waitFor(60*time.Second, func() bool {
				return strings.Count(lv.p.Output(), "reload rejected") >= rejected
			}) {
				t.Fatalf("no rejection logged within 60s")
			}
			out := lv.p.Output()
			last := out[strings.LastIndex(out, "reload rejected"):]
			if i := strings.IndexByte(last, '\n'); i >= 0 {
				last = last[:i]
			}
			t.Logf("%.300s", last)
			if tc.why != "" && !strings.Contains(last, tc.why) {
				t.Errorf("rejection does not name %q", tc.why)
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
