// Package proc runs the child processes of lvskit's packages (notify,
// quorum and track scripts, MISC_CHECK) in one way: an argv without a
// shell, in a process group of its own that is killed as a whole on
// timeout, with its output capped, optionally as another user, and
// optionally refused when keepalived's enable_script_security would refuse
// it.
package proc

import (
	"errors"
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultMaxOutput is the output kept from a program when Cmd.MaxOutput is
// zero: the rest is read and dropped, so a chatty script costs no memory.
const DefaultMaxOutput = 4096

// DefaultWaitDelay bounds the wait for output pipes held open by a process
// that escaped the process group (it called setsid or setpgid).
const DefaultWaitDelay = time.Second

// ErrInsecure is matched by an *InsecureError.
var ErrInsecure = errors.New("proc: script is insecure")

// ErrTimeout is wrapped by the error Run returns when the program was
// killed because its timeout or its context ended.
var ErrTimeout = errors.New("proc: program killed on timeout")

// Credential names the user and group a program runs as.
type Credential struct {
	UID, GID uint32
}

// Cmd describes one run of a program.
type Cmd struct {
	// Argv is the program (Argv[0], a path; a bare name is looked up in
	// PATH) and its arguments. No shell is involved.
	Argv []string
	// Env, when non-nil, replaces the environment.
	Env []string
	// Dir is the working directory; empty means the caller's.
	Dir string
	// Cred, when set, runs the program as that user and group, with no
	// supplementary groups (keepalived's script_user). Needs root.
	Cred *Credential
	// Timeout bounds the run; zero means only ctx bounds it. When it
	// ends, the whole process group gets SIGKILL.
	Timeout time.Duration
	// MaxOutput caps the bytes of combined stdout and stderr kept in
	// Result.Output; zero means DefaultMaxOutput, negative keeps none.
	MaxOutput int
	// KeepGroup leaves processes the program started in its group
	// running after it exits normally (a notify script that starts a
	// daemon). Without it the group is killed as soon as the program
	// exits, so nothing of a check outlives it. On timeout the group is
	// always killed.
	KeepGroup bool
	// ScriptSecurity refuses, with an *InsecureError, a program that
	// runs as root (or is set-uid/gid root) while it or a directory on
	// its path is writable by a non-root user: keepalived's
	// enable_script_security.
	ScriptSecurity bool
}

// Result is what a run produced.
type Result struct {
	// Pid is the program's process id, which is also its process group
	// id; zero when it did not start.
	Pid int
	// ExitCode is the exit status, or -1 when the program was killed by
	// a signal or did not start.
	ExitCode int
	// Signal names the signal that killed the program, if one did.
	Signal string
	// Output is the first MaxOutput bytes of combined stdout and stderr.
	Output []byte
	// Dropped counts the output bytes read beyond MaxOutput.
	Dropped int64
}

// Success reports whether the program exited with status 0.
func (r Result) Success() bool { return r.Pid != 0 && r.ExitCode == 0 && r.Signal == "" }

// Tail returns the last line of the kept output, at most 200 bytes, with a
// note of dropped bytes: what a log line or a failure reason shows.
func (r Result) Tail() string {
	s := strings.TrimSpace(string(r.Output))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	if r.Dropped > 0 {
		s += fmt.Sprintf(" (%d bytes of output dropped)", r.Dropped)
	}
	return s
}

// InsecureError says why a script was refused under ScriptSecurity.
type InsecureError struct {
	// Script is the program that would have run.
	Script string
	// Path is the file or directory found unsafe (Script itself or one
	// of the directories leading to it).
	Path string
	// Reason says what makes Path unsafe.
	Reason string
}

func (e *InsecureError) Error() string {
	if e.Path == e.Script {
		return fmt.Sprintf("proc: unsafe permissions for script %s: %s", e.Script, e.Reason)
	}
	return fmt.Sprintf("proc: unsafe permissions for script %s: %s %s", e.Script, e.Path, e.Reason)
}

// Is makes errors.Is(err, ErrInsecure) true.
func (e *InsecureError) Is(target error) bool { return target == ErrInsecure }

// LookupCredential resolves keepalived's `script_user USER [GROUP]`: USER
// is a name or a numeric uid; GROUP, when empty, is USER's primary group.
func LookupCredential(userName, group string) (*Credential, error) {
	u, err := user.Lookup(userName)
	if err != nil {
		if u, err = user.LookupId(userName); err != nil {
			return nil, fmt.Errorf("proc: user %q: %w", userName, err)
		}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("proc: user %q: non-numeric uid/gid", userName)
	}
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			if g, err = user.LookupGroupId(group); err != nil {
				return nil, fmt.Errorf("proc: group %q: %w", group, err)
			}
		}
		if gid, err = strconv.ParseUint(g.Gid, 10, 32); err != nil {
			return nil, fmt.Errorf("proc: group %q: non-numeric gid", group)
		}
	}
	return &Credential{UID: uint32(uid), GID: uint32(gid)}, nil
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
	room := max(w.max-len(w.buf), 0)
	k := min(room, len(p))
	w.buf = append(w.buf, p[:k]...)
	w.dropped += int64(len(p) - k)
	return len(p), nil
}

func (w *capWriter) result() ([]byte, int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf, w.dropped
}
