package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Run runs c once and waits for it. A program that exits with a non-zero
// status is not an error: Result says how it ended. Run returns an error
// when the program could not start, was refused as insecure (an
// *InsecureError), or was killed on timeout (wrapping ErrTimeout and the
// context's error). The program's whole process group is killed on
// timeout, and also when it exits unless c.KeepGroup is set.
func Run(ctx context.Context, c *Cmd) (Result, error) {
	res := Result{ExitCode: -1}
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return res, errors.New("proc: empty argv")
	}
	name := c.Argv[0]
	if c.ScriptSecurity {
		if err := CheckSecure(name, c.Cred); err != nil {
			return res, err
		}
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return res, fmt.Errorf("proc: %s: %w", name, err)
	}
	defer pr.Close()
	cmd := exec.CommandContext(ctx, name, c.Argv[1:]...)
	cmd.Env, cmd.Dir = c.Env, c.Dir
	// The child gets the pipe's write end itself, so no copying goroutine
	// of os/exec can hold Wait: Wait returns when the program exits, and
	// the group is killed at once.
	cmd.Stdout, cmd.Stderr = pw, pw
	attr := &syscall.SysProcAttr{Setpgid: true}
	if c.Cred != nil {
		attr.Credential = &syscall.Credential{Uid: c.Cred.UID, Gid: c.Cred.GID}
	}
	cmd.SysProcAttr = attr
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	cmd.WaitDelay = DefaultWaitDelay
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return res, fmt.Errorf("proc: start %s: %w", name, err)
	}
	res.Pid = cmd.Process.Pid
	limit := c.MaxOutput
	if limit == 0 {
		limit = DefaultMaxOutput
	}
	out := &capWriter{max: max(limit, 0)}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		io.Copy(out, pr)
	}()

	err = cmd.Wait()
	timedOut := ctx.Err() != nil
	if timedOut || !c.KeepGroup {
		killGroup(res.Pid)
	}
	// A process that left the group may still hold the pipe open: read
	// what it writes for at most DefaultWaitDelay.
	t := time.NewTimer(DefaultWaitDelay)
	select {
	case <-copied:
	case <-t.C:
		if err := pr.SetReadDeadline(time.Now()); err != nil {
			pr.Close() // not pollable: closing is all that is left
		}
		<-copied
	}
	t.Stop()
	res.Output, res.Dropped = out.result()
	if ps := cmd.ProcessState; ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Signal = ws.Signal().String()
		} else {
			res.ExitCode = ps.ExitCode()
		}
	}
	if timedOut {
		return res, fmt.Errorf("%w: %s: %w", ErrTimeout, name, context.Cause(ctx))
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) && !errors.Is(err, exec.ErrWaitDelay) {
		return res, fmt.Errorf("proc: %s: %w", name, err)
	}
	return res, nil
}

// killGroup sends SIGKILL to the process group pgid; an empty group is not
// an error.
func killGroup(pgid int) error {
	err := syscall.Kill(-pgid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
