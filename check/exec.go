package check

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/lvskit/lvskit/internal/proc"
)

// Exec is keepalived's MISC_CHECK: run a program; exit status 0 means up.
// With Dynamic (misc_dynamic) status 1 means down and 2..255 means up with
// weight status-2. On timeout the program's whole process group is killed,
// and whatever it leaves in its group when it exits is killed too.
type Exec struct {
	// Path is the program, run directly without a shell unless Shell is
	// set.
	Path string
	// Args are the arguments after the program name.
	Args []string
	// Shell runs Path as a /bin/sh -c script, with Args as $0, $1, ...
	Shell bool
	// User, when set, is the user name or numeric uid to run as (needs
	// root): keepalived's `user` or script_user.
	User string
	// Group, when set, is the group name or gid to run as; empty means
	// User's primary group.
	Group string
	// ScriptSecurity refuses to run a program as root when it or a
	// directory on its path is writable by a non-root user
	// (keepalived's enable_script_security); the check is down with the
	// reason.
	ScriptSecurity bool
	// Dynamic is misc_dynamic.
	Dynamic bool
	// Env, when non-nil, replaces the environment.
	Env []string
	// Timeout is misc_timeout; zero means 5 s.
	Timeout time.Duration
}

// Check runs the program once.
func (c Exec) Check(ctx context.Context) Result {
	start := time.Now()
	argv := append([]string{c.Path}, c.Args...)
	if c.Shell {
		argv = append([]string{"/bin/sh", "-c", c.Path}, c.Args...)
	}
	cmd := &proc.Cmd{Argv: argv, Env: c.Env, Timeout: timeoutOr(c.Timeout), ScriptSecurity: c.ScriptSecurity}
	if c.User != "" || c.Group != "" {
		u := c.User
		if u == "" {
			u = "root"
		}
		cred, err := proc.LookupCredential(u, c.Group)
		if err != nil {
			return down(start, "user", err)
		}
		cmd.Cred = cred
	}
	res, err := proc.Run(ctx, cmd)
	switch {
	case errors.Is(err, proc.ErrTimeout):
		cause := ctx.Err()
		if cause == nil {
			cause = context.DeadlineExceeded
		}
		return down(start, "script killed", fmt.Errorf("%w after %v", cause, timeoutOr(c.Timeout)))
	case errors.Is(err, proc.ErrInsecure):
		return down(start, "refused", err)
	case err != nil:
		return down(start, "run", err)
	case res.Signal != "":
		r := down(start, "script killed by "+res.Signal, nil)
		r.Err = fmt.Errorf("%w: %s", ErrCheck, r.Reason)
		return r
	}
	r := execResult(res.ExitCode, c.Dynamic)
	r.Latency = time.Since(start)
	if !r.Up {
		r.Err = fmt.Errorf("%w: %s", ErrCheck, r.Reason)
		if tail := res.Tail(); tail != "" {
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
