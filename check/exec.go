package check

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Exec is keepalived's MISC_CHECK: run a program; exit status 0 means up.
// With Dynamic (misc_dynamic) status 1 means down and 2..255 means up with
// weight status-2. On timeout the program's whole process group is killed.
type Exec struct {
	// Path is the program, run directly without a shell unless Shell is
	// set.
	Path string
	// Args are the arguments after the program name.
	Args []string
	// Shell runs Path as a /bin/sh -c script, with Args as $0, $1, ...
	Shell bool
	// User, when set, is the user name or numeric uid to run as (needs
	// root); its primary group is used.
	User string
	// Dynamic is misc_dynamic.
	Dynamic bool
	// Env, when non-nil, replaces the environment.
	Env []string
	// Timeout is misc_timeout; zero means 5 s.
	Timeout time.Duration
}

// maxExecOutput caps the output kept from a script (the tail of it appears
// in a failing Result's Reason); the rest is read and dropped.
const maxExecOutput = 4096

// waitDelay bounds the wait for output pipes held open by a process that
// escaped the process group.
const waitDelay = time.Second

// Check runs the program once.
func (c Exec) Check(ctx context.Context) Result {
	start := time.Now()
	ctx, cancel := withDeadline(ctx, c.Timeout)
	defer cancel()
	var cmd *exec.Cmd
	if c.Shell {
		cmd = exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", c.Path}, c.Args...)...)
	} else {
		cmd = exec.CommandContext(ctx, c.Path, c.Args...)
	}
	cmd.Env = c.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.User != "" {
		cred, err := lookupCred(c.User)
		if err != nil {
			return down(start, "user", err)
		}
		cmd.SysProcAttr.Credential = cred
	}
	out := &capWriter{max: maxExecOutput}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Cancel = func() error { return killGroup(cmd) }
	cmd.WaitDelay = waitDelay
	err := cmd.Run()
	if cmd.Process != nil {
		// Leave nothing of the check running, even on success.
		killGroup(cmd)
	}
	if ctx.Err() != nil {
		return down(start, "script killed", fmt.Errorf("%w after %v", ctx.Err(), timeoutOr(c.Timeout)))
	}
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return down(start, "script killed by "+ws.Signal().String(), err)
		}
		code = ee.ExitCode()
	case errors.Is(err, exec.ErrWaitDelay):
		// The script exited 0 but left a child holding its output open.
	case err != nil:
		return down(start, "run", err)
	}
	r := execResult(code, c.Dynamic)
	r.Latency = time.Since(start)
	if !r.Up {
		r.Err = fmt.Errorf("%w: %s", ErrCheck, r.Reason)
		if tail := out.tail(); tail != "" {
			r.Reason += ": " + tail
		}
	}
	return r
}

// execResult maps an exit status to a Result as MISC_CHECK does.
func execResult(code int, dynamic bool) Result {
	switch {
	case code == 0:
		return Result{Up: true}
	case !dynamic || code == 1:
		return Result{Reason: "exit status " + strconv.Itoa(code)}
	}
	return Result{Up: true, Weight: Weight{Set: true, Value: code - 2}}
}

func killGroup(cmd *exec.Cmd) error {
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

func lookupCred(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if u, err = user.LookupId(name); err != nil {
			return nil, err
		}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user %q: non-numeric uid/gid", name)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// capWriter keeps the first max bytes written and counts the rest.
type capWriter struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int64
}

func (w *capWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := w.max - len(w.buf); room > 0 {
		k := min(room, len(p))
		w.buf = append(w.buf, p[:k]...)
		w.dropped += int64(len(p) - k)
	} else {
		w.dropped += int64(len(p))
	}
	return len(p), nil
}

// tail returns the last line of the kept output, shortened.
func (w *capWriter) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := strings.TrimSpace(string(w.buf))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	if w.dropped > 0 {
		s += fmt.Sprintf(" (%d bytes of output dropped)", w.dropped)
	}
	return s
}
