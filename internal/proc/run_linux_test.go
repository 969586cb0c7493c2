package proc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func groupMembers(t *testing.T, pgid int) int {
	t.Helper()
	n, err := GroupMembers(pgid)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// groupGone reports how many processes of group pgid are still alive after
// SIGKILL had time to land: delivery is asynchronous, so it polls a bounded
// number of times while the count falls.
func groupGone(t *testing.T, pgid int) int {
	t.Helper()
	n := groupMembers(t, pgid)
	for i := 0; i < 100 && n > 0; i++ {
		time.Sleep(10 * time.Millisecond)
		n = groupMembers(t, pgid)
	}
	return n
}

func writeScript(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "s.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunTimeoutKillsWholeGroup: a script that forks 24 sleepers and waits
// is killed on timeout with every sleeper; the group is empty afterwards.
func TestRunTimeoutKillsWholeGroup(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	p := writeScript(t, dir, `i=0; while [ $i -lt 24 ]; do sleep 600 & i=$((i+1)); done; echo $$ > `+ready+`; wait`)
	type ret struct {
		r   Result
		err error
	}
	done := make(chan ret, 1)
	go func() {
		r, err := Run(context.Background(), &Cmd{Argv: []string{p}, Timeout: 2 * time.Second})
		done <- ret{r, err}
	}()
	// See the 25 processes (script + 24 sleepers) while it runs.
	var pgid, seen int
	for i := 0; i < 200 && seen < 25; i++ {
		time.Sleep(10 * time.Millisecond)
		if pgid == 0 {
			if b, err := os.ReadFile(ready); err == nil {
				pgid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			}
			continue
		}
		seen = groupMembers(t, pgid)
	}
	if seen != 25 {
		t.Fatalf("saw %d processes in the script's group, want 25", seen)
	}
	got := <-done
	if !errors.Is(got.err, ErrTimeout) || !errors.Is(got.err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrTimeout and DeadlineExceeded", got.err)
	}
	if got.r.Pid != pgid || got.r.Signal != "killed" || got.r.ExitCode != -1 {
		t.Fatalf("result = %+v, want pid %d killed", got.r, pgid)
	}
	if n := groupGone(t, pgid); n != 0 {
		t.Fatalf("%d processes left in group %d after the timeout", n, pgid)
	}
}

// TestRunContextCancelKillsGroup: cancelling ctx works as the timeout does.
func TestRunContextCancelKillsGroup(t *testing.T) {
	dir := t.TempDir()
	p := writeScript(t, dir, `sleep 600 & sleep 600 & echo go; wait`)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(200 * time.Millisecond); cancel() }()
	r, err := Run(ctx, &Cmd{Argv: []string{p}})
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if n := groupGone(t, r.Pid); n != 0 {
		t.Fatalf("%d processes left", n)
	}
}

// TestRunExitKillsLeftovers: when the program exits, what it left in its
// group is killed, unless KeepGroup.
func TestRunExitKillsLeftovers(t *testing.T) {
	dir := t.TempDir()
	// The sleeper closes the pipe so KeepGroup need not wait for it.
	p := writeScript(t, dir, `sleep 600 >/dev/null 2>&1 & echo started`)
	r, err := Run(context.Background(), &Cmd{Argv: []string{p}})
	if err != nil || !r.Success() || string(r.Output) != "started\n" {
		t.Fatalf("Run = %+v, %v", r, err)
	}
	if n := groupGone(t, r.Pid); n != 0 {
		t.Fatalf("%d processes left after exit", n)
	}
	r, err = Run(context.Background(), &Cmd{Argv: []string{p}, KeepGroup: true})
	if err != nil || !r.Success() {
		t.Fatalf("Run = %+v, %v", r, err)
	}
	t.Cleanup(func() { killGroup(r.Pid) })
	if n := groupMembers(t, r.Pid); n != 1 {
		t.Fatalf("KeepGroup: %d processes in the group, want the sleeper", n)
	}
}

// TestRunLeftoverHoldingOutput: a leftover that keeps the output pipe open
// (KeepGroup) delays the result by at most DefaultWaitDelay.
func TestRunLeftoverHoldingOutput(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	p := writeScript(t, dir, `echo a; setsid sh -c 'echo $$ > `+pidFile+`; exec sleep 600' & echo b; while [ ! -s `+pidFile+` ]; do sleep 0.01; done`)
	r, err := Run(context.Background(), &Cmd{Argv: []string{p}})
	if b, err := os.ReadFile(pidFile); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
		}
	}
	if err != nil || !r.Success() || string(r.Output) != "a\nb\n" {
		t.Fatalf("Run = %+v, %v", r, err)
	}
}

// TestRunOutputCapped: 1 MB of output keeps 4096 bytes and counts the rest.
func TestRunOutputCapped(t *testing.T) {
	r, err := Run(context.Background(), &Cmd{Argv: []string{"/bin/sh", "-c", "head -c 1000000 /dev/zero; echo x >&2"}})
	if err != nil || !r.Success() {
		t.Fatalf("Run = %v", err)
	}
	if len(r.Output) != DefaultMaxOutput || r.Dropped != 1000002-DefaultMaxOutput {
		t.Fatalf("kept %d, dropped %d", len(r.Output), r.Dropped)
	}
	if !strings.Contains(r.Tail(), "bytes of output dropped") {
		t.Fatalf("Tail = %q", r.Tail())
	}
	r, err = Run(context.Background(), &Cmd{Argv: []string{"/bin/sh", "-c", "echo 123456789"}, MaxOutput: 4})
	if err != nil || string(r.Output) != "1234" || r.Dropped != 6 {
		t.Fatalf("MaxOutput 4: %q dropped %d, %v", r.Output, r.Dropped, err)
	}
	r, err = Run(context.Background(), &Cmd{Argv: []string{"/bin/sh", "-c", "echo 123456789"}, MaxOutput: -1})
	if err != nil || len(r.Output) != 0 || r.Dropped != 10 {
		t.Fatalf("MaxOutput -1: %q dropped %d, %v", r.Output, r.Dropped, err)
	}
}

func TestRunExitStatus(t *testing.T) {
	r, err := Run(context.Background(), &Cmd{Argv: []string{"/bin/sh", "-c", "exit 3"}})
	if err != nil || r.ExitCode != 3 || r.Success() {
		t.Fatalf("exit 3: %+v, %v", r, err)
	}
	r, err = Run(context.Background(), &Cmd{Argv: []string{"/bin/sh", "-c", "kill -TERM $$"}})
	if err != nil || r.Signal != "terminated" || r.ExitCode != -1 {
		t.Fatalf("killed: %+v, %v", r, err)
	}
	r, err = Run(context.Background(), &Cmd{Argv: []string{"/nonexistent/lvskit"}})
	if err == nil || !errors.Is(err, os.ErrNotExist) || r.Pid != 0 {
		t.Fatalf("missing program: %+v, %v", r, err)
	}
	if _, err := Run(context.Background(), &Cmd{}); err == nil {
		t.Fatal("empty argv accepted")
	}
	r, err = Run(context.Background(), &Cmd{Argv: []string{"sh", "-c", `echo "$X"`}, Env: []string{"X=y"}})
	if err != nil || string(r.Output) != "y\n" {
		t.Fatalf("env: %q, %v", r.Output, err)
	}
}

// TestRunOutputDoesNotBalloon: 100 MB of output cost the runner a bounded
// amount of memory (counted in bytes allocated, not time): the cap is
// applied while reading, nothing is buffered whole.
func TestRunOutputDoesNotBalloon(t *testing.T) {
	const n = 100 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r, err := Run(context.Background(), &Cmd{Argv: []string{"/bin/sh", "-c", "head -c " + strconv.Itoa(n) + " /dev/zero"}})
	runtime.ReadMemStats(&after)
	if err != nil || !r.Success() {
		t.Fatalf("Run = %+v, %v", r, err)
	}
	if int64(len(r.Output))+r.Dropped != n {
		t.Fatalf("kept %d + dropped %d, want %d bytes read", len(r.Output), r.Dropped, n)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d bytes of output: %d bytes allocated", n, alloc)
	if alloc > 1<<20 {
		t.Fatalf("reading %d bytes of output allocated %d bytes", n, alloc)
	}
}
