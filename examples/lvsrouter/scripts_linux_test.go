package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
)

// groupMembers counts the live (not zombie) processes in process group
// pgid.
func groupMembers(t *testing.T, pgid int) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...: comm may hold blanks.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			n++
		}
	}
	return n
}

// TestScriptTimeoutKillsGroup runs a notify script that starts two
// grandchildren and outlives its timeout: when runScript returns, nothing
// of its process group is left.
func TestScriptTimeoutKillsGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	r := newRouter(slog.New(slog.DiscardHandler))
	r.scriptTimeout = 300 * time.Millisecond
	r.runScript([]string{"/bin/sh", "-c", "echo $$ > " + pidFile + "; sleep 100 & sleep 100 & wait"})
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pgid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// SIGKILL went to the whole group when runScript returned; a member
	// may take a moment to finish dying, but none may keep running.
	n := groupMembers(t, pgid)
	for i := 0; i < 50 && n > 0; i++ {
		time.Sleep(100 * time.Millisecond)
		n = groupMembers(t, pgid)
	}
	if n != 0 {
		t.Fatalf("%d processes of the script's group %d left after its timeout", n, pgid)
	}
}

// TestScriptOutputCapped runs a notify script that writes 500 MB: the
// router allocates a bounded amount for it (the output is capped, the rest
// read and dropped).
func TestScriptOutputCapped(t *testing.T) {
	var log bytes.Buffer
	r := newRouter(slog.New(slog.NewTextHandler(&log, nil)))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	// Exit 1 so that the router logs the output it kept.
	r.runScript([]string{"/bin/sh", "-c", "head -c 500000000 /dev/zero; exit 1"})
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("500 MB of script output: %d bytes allocated", alloc)
	if alloc > 4<<20 {
		t.Errorf("500 MB of script output allocated %d bytes, want at most 4 MiB", alloc)
	}
	if !strings.Contains(log.String(), "bytes of output dropped") {
		t.Errorf("log does not say output was dropped: %.300s", log.String())
	}
}

// TestScriptUser: with script_user the router's own scripts (notify_up,
// quorum_up...) run as that user, as keepalived runs them.
func TestScriptUser(t *testing.T) {
	testenv.NeedRoot(t)
	// A directory nobody can reach: t.TempDir's parent is private.
	dir, err := os.MkdirTemp("", "lvsrouter-script-user")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "id")
	conf := writeConf(t, dir, "k.conf", "global_defs {\n  script_user nobody\n}\n")
	p, _, err := load(conf, anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	r := newRouter(slog.New(slog.DiscardHandler))
	r.plan = p
	if r.scriptCred, err = p.Scripts.credential(); err != nil {
		t.Fatal(err)
	}
	r.runScript([]string{"/bin/sh", "-c", "id -u > " + out})
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != "65534" {
		t.Errorf("script ran as uid %s, want nobody (65534)", got)
	}
}

// TestScriptSecurity: under enable_script_security a script run as root
// that a non-root user could change is refused (logged, never run), as
// keepalived disables it; a safe one runs.
func TestScriptSecurity(t *testing.T) {
	testenv.NeedRoot(t)
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	script := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := writeConf(t, dir, "k.conf", "global_defs {\n  script_user root\n  enable_script_security\n}\n")
	p, _, err := load(conf, anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	r := newRouter(slog.New(slog.NewTextHandler(&log, nil)))
	r.plan = p
	if r.scriptCred, err = p.Scripts.credential(); err != nil {
		t.Fatal(err)
	}
	r.runScript([]string{script})
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("a safe script did not run: %v\n%s", err, log.String())
	}
	os.Remove(marker)
	if err := os.Chmod(script, 0o777); err != nil {
		t.Fatal(err)
	}
	r.runScript([]string{script})
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a world-writable script ran as root under enable_script_security")
	}
	if !strings.Contains(log.String(), "script refused") {
		t.Errorf("refusal not logged: %s", log.String())
	}
}

// TestConfigTestScriptSecurity: keepalived -t exits 6 when scripts would
// run without enable_script_security ("SECURITY VIOLATION"), and reports
// (exit 5) enable_script_security without script_user when its default
// user keepalived_script does not exist.
func TestConfigTestScriptSecurity(t *testing.T) {
	dir := t.TempDir()
	svc := "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n  real_server 10.1.0.1 80 {\n    MISC_CHECK {\n      misc_path /bin/true\n    }\n  }\n}\n"
	for _, tc := range []struct {
		name, conf string
		code       int
		msg        string
	}{
		{"no script security", svc, exitConfigTestSecurity, "SECURITY VIOLATION"},
		{"script security", "global_defs {\n  script_user root\n  enable_script_security\n}\n" + svc, exitOK, "OK"},
	} {
		path := writeConf(t, dir, strings.ReplaceAll(tc.name, " ", "-")+".conf", tc.conf)
		var stderr strings.Builder
		if code := run([]string{"-t", "-f", path}, io.Discard, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("%s: exit %d, want %d; stderr %q, want %q", tc.name, code, tc.code, stderr.String(), tc.msg)
		}
	}
	if _, err := os.Stat("/etc/passwd"); err == nil && !hasUser(defaultScriptUser) {
		path := writeConf(t, dir, "default-user.conf", "global_defs {\n  enable_script_security\n}\n"+svc)
		var stderr strings.Builder
		if code := run([]string{"-t", "-f", path}, io.Discard, &stderr); code != exitConfigTest || !strings.Contains(stderr.String(), "Unable to set default user keepalived_script") {
			t.Errorf("no script_user, no keepalived_script: exit %d; stderr %q", code, stderr.String())
		}
	}
}

func hasUser(name string) bool {
	b, err := os.ReadFile("/etc/passwd")
	return err == nil && bytes.Contains(b, fmt.Appendf(nil, "\n%s:", name))
}
