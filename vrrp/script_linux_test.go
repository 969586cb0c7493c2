package vrrp

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/proc"
)

// TestTrackScriptTimeoutKillsGrandchildren: a track script that forks 24
// sleepers and waits fails on its timeout, and its whole process group,
// the 24 grandchildren included, is gone afterwards.
func TestTrackScriptTimeoutKillsGrandchildren(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pgid")
	script := filepath.Join(dir, "track.sh")
	body := "#!/bin/sh\ni=0; while [ $i -lt 24 ]; do sleep 600 & i=$((i+1)); done; echo $$ > " + pidFile + "; wait\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	s := TrackScript{Command: []string{script}, Timeout: 500 * time.Millisecond}
	ok, err := runTrackScript(context.Background(), &s, nil, false)
	if ok || !errors.Is(err, proc.ErrTimeout) {
		t.Fatalf("runTrackScript = %v, %v; want a failure on timeout", ok, err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the script did not start its sleepers: %v", err)
	}
	pgid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	n := -1
	for i := 0; i < 100 && n != 0; i++ { // SIGKILL lands asynchronously
		if n, err = proc.GroupMembers(pgid); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if n != 0 {
		t.Fatalf("%d processes of the track script's group survived its timeout", n)
	}
}

// TestTrackScriptResult: exit status 0 is success, anything else failure.
func TestTrackScriptResult(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		ok   bool
	}{
		{[]string{"/bin/sh", "-c", "exit 0"}, true},
		{[]string{"/bin/sh", "-c", "exit 1"}, false},
		{[]string{"/bin/sh", "-c", "kill -KILL $$"}, false},
	} {
		s := TrackScript{Command: tc.argv, Timeout: 5 * time.Second}
		ok, err := runTrackScript(context.Background(), &s, nil, false)
		if ok != tc.ok || err != nil {
			t.Errorf("%q: %v, %v; want %v", tc.argv, ok, err, tc.ok)
		}
	}
	s := TrackScript{Command: []string{"/nonexistent/lvskit"}, Timeout: time.Second}
	if ok, err := runTrackScript(context.Background(), &s, nil, false); ok || err == nil {
		t.Errorf("missing script: %v, %v", ok, err)
	}
}

// TestNotifyScriptTimeout: a notify script that hangs is killed with its
// group on Notify.Timeout; one that starts a daemon and exits leaves the
// daemon running, as keepalived does.
func TestNotifyScriptTimeout(t *testing.T) {
	n := Notify{Timeout: 300 * time.Millisecond}
	res, err := runNotify(context.Background(), []string{"/bin/sh", "-c", "sleep 600 & sleep 600 & wait"}, &n, nil, false)
	if !errors.Is(err, proc.ErrTimeout) {
		t.Fatalf("hanging notify: %+v, %v", res, err)
	}
	left := -1
	for i := 0; i < 100 && left != 0; i++ {
		if left, err = proc.GroupMembers(res.Pid); err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if left != 0 {
		t.Fatalf("%d processes survived the notify timeout", left)
	}

	n.Timeout = 5 * time.Second
	res, err = runNotify(context.Background(), []string{"/bin/sh", "-c", "sleep 600 >/dev/null 2>&1 &"}, &n, nil, false)
	if err != nil || !res.Success() {
		t.Fatalf("daemon-starting notify: %+v, %v", res, err)
	}
	left, err = proc.GroupMembers(res.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if left != 1 {
		t.Fatalf("%d processes in the notify's group, want its daemon", left)
	}
	if err := syscall.Kill(-res.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}
