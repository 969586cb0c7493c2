package check_test

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/internal/testenv"
)

// script writes an executable shell script into a temp dir.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "check.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExec(t *testing.T) {
	noLeaks(t)
	for _, tc := range []struct {
		name    string
		c       check.Exec
		up      bool
		weight  check.Weight
		reason  string
		scriptB string
	}{
		{name: "exit 0", scriptB: "exit 0", up: true},
		{name: "exit 1", scriptB: "echo backend sick; exit 1", reason: "exit status 1: backend sick"},
		{name: "exit 7", scriptB: "exit 7", reason: "exit status 7"},
		{name: "dynamic 0", c: check.Exec{Dynamic: true}, scriptB: "exit 0", up: true},
		{name: "dynamic 1", c: check.Exec{Dynamic: true}, scriptB: "exit 1", reason: "exit status 1"},
		{name: "dynamic 2", c: check.Exec{Dynamic: true}, scriptB: "exit 2", up: true, weight: check.Weight{Set: true, Value: 0}},
		{name: "dynamic 102", c: check.Exec{Dynamic: true}, scriptB: "exit 102", up: true, weight: check.Weight{Set: true, Value: 100}},
		{name: "dynamic 255", c: check.Exec{Dynamic: true}, scriptB: "exit 255", up: true, weight: check.Weight{Set: true, Value: 253}},
		{name: "args", c: check.Exec{Args: []string{"a b", "$HOME"}}, scriptB: `[ "$1" = "a b" ] && [ "$2" = '$HOME' ]`, up: true},
		{name: "killed by signal", scriptB: "kill -TERM $$", reason: "script killed by terminated"},
		{name: "megabytes of output", scriptB: "head -c 5000000 /dev/zero | tr '\\0' x; echo; echo done; exit 1", reason: "bytes of output dropped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			c.Path = script(t, tc.scriptB)
			c.Timeout = 5 * time.Second
			r := c.Check(context.Background())
			if r.Up != tc.up || r.Weight != tc.weight {
				t.Fatalf("got up=%v weight=%v (%+v), want up=%v weight=%v", r.Up, r.Weight, r, tc.up, tc.weight)
			}
			if !tc.up {
				mustContain(t, "Reason", r.Reason, tc.reason)
			}
		})
	}
}

func TestExecShell(t *testing.T) {
	noLeaks(t)
	r := check.Exec{Path: `test "$1" = x && exit 3`, Args: []string{"sh", "x"}, Shell: true}.Check(context.Background())
	if r.Up || !strings.Contains(r.Reason, "exit status 3") {
		t.Fatalf("%+v, want down with exit status 3", r)
	}
	r = check.Exec{Path: "/nonexistent/script"}.Check(context.Background())
	if r.Up {
		t.Fatalf("missing program: %+v", r)
	}
	mustContain(t, "Reason", r.Reason, "run", "no such file")
}

// TestExecTimeoutKillsGroup runs a script that starts a child and hangs;
// the timeout must kill both, and the check must return promptly even
// though the child holds the output pipe.
func TestExecTimeoutKillsGroup(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	p := script(t, "sleep 300 & echo $! > "+pidFile+"; sleep 300")
	r := check.Exec{Path: p, Timeout: 300 * time.Millisecond}.Check(context.Background())
	if r.Up {
		t.Fatalf("hanging script: %+v", r)
	}
	mustContain(t, "Reason", r.Reason, "script killed", "deadline exceeded")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ { // bounded: 5 s
		if !alive(pid) {
			break
		}
		if i == 500 {
			t.Fatalf("child %d of the script survived the timeout", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestExecLeavesNoChild: a script that exits 0 but leaves a child running
// still passes, and the child is killed with its process group.
func TestExecLeavesNoChild(t *testing.T) {
	noLeaks(t)
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	p := script(t, "sleep 300 & echo $! > "+pidFile+"; exit 0")
	r := check.Exec{Path: p}.Check(context.Background())
	if !r.Up {
		t.Fatalf("%+v, want up", r)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; alive(pid); i++ {
		if i == 500 {
			t.Fatalf("child %d survived", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func TestExecUser(t *testing.T) {
	noLeaks(t)
	testenv.NeedRoot(t) // running as another user needs root
	u, err := user.Lookup("nobody")
	if err != nil {
		testenv.Missing(t, "no user nobody")
	}
	p := script(t, `[ "$(id -u)" = "`+u.Uid+`" ]`)
	// t.TempDir's directories are private to root; let nobody in.
	for _, d := range []string{filepath.Dir(p), filepath.Dir(filepath.Dir(p))} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := check.Exec{Path: p, User: "nobody"}.Check(context.Background())
	if !r.Up {
		t.Fatalf("%+v, want the script to run as uid %s", r, u.Uid)
	}
	r = check.Exec{Path: p, User: "no-such-user-lvskit"}.Check(context.Background())
	if r.Up {
		t.Fatalf("unknown user: %+v", r)
	}
}

// TestExecScriptSecurity: with ScriptSecurity a world-writable script run
// as root is refused (and does not run); without it, it runs.
func TestExecScriptSecurity(t *testing.T) {
	noLeaks(t)
	testenv.NeedRoot(t) // the rule applies to scripts run as root
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	p := filepath.Join(dir, "check.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o757); err != nil {
		t.Fatal(err)
	}
	r := check.Exec{Path: p, ScriptSecurity: true}.Check(context.Background())
	if r.Up {
		t.Fatalf("insecure script: %+v, want down", r)
	}
	mustContain(t, "Reason", r.Reason, "refused", "unsafe permissions", "writable by others")
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the insecure script ran")
	}
	if r := (check.Exec{Path: p}).Check(context.Background()); !r.Up {
		t.Fatalf("without ScriptSecurity: %+v, want up", r)
	}
}
