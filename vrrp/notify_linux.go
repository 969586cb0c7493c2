package vrrp

import (
	"context"
	"strconv"

	"github.com/lvskit/lvskit/internal/proc"
)

// notifyJob is one notify script to run, with the Notify settings and
// credential it was queued under.
type notifyJob struct {
	argv []string
	n    *Notify
	cred *proc.Credential
	// done, set on a job without argv, is OnNotified for a transition
	// whose scripts are queued before it.
	done func()
}

func (in *Instance) hasNotify() bool { return hasNotify(&in.cfg.Notify) }

func hasNotify(n *Notify) bool {
	return len(n.Master)+len(n.Backup)+len(n.Fault)+len(n.Stop)+len(n.Notify) > 0
}

func (in *Instance) notify(t Transition, prio uint8) {
	var done func()
	if f := in.acfg.OnNotified; f != nil {
		name := in.cfg.Name
		done = func() { f(name, t) }
	}
	if in.notifyQ == nil {
		return // apply calls OnNotified after OnTransition
	}
	defer func() {
		if done != nil {
			in.notifyQ <- notifyJob{done: done} // after the scripts, never dropped
		}
	}()
	n := &in.acfg.Notify
	var specific []string
	state := t.To.String()
	switch t.To {
	case StateMaster:
		specific = n.Master
	case StateBackup:
		specific = n.Backup
	case StateFault:
		specific = n.Fault
	case StateInit:
		specific, state = n.Stop, "STOP"
	}
	var generic []string
	if len(n.Notify) > 0 {
		generic = append(append([]string(nil), n.Notify...), "INSTANCE", in.cfg.Name, state, strconv.Itoa(int(prio)))
	}
	for _, argv := range [][]string{specific, generic} {
		if len(argv) == 0 {
			continue
		}
		select {
		case in.notifyQ <- notifyJob{argv: argv, n: n, cred: in.creds.notify}:
		default:
			in.r.log.Warn("vrrp: notify queue full", "instance", in.cfg.Name)
		}
	}
}

func (in *Instance) notifyWorker() {
	for j := range in.notifyQ {
		if j.done != nil {
			j.done()
			continue
		}
		argv := j.argv
		res, err := runNotify(context.Background(), argv, j.n, j.cred, in.r.cfg.ScriptSecurity)
		switch {
		case err != nil:
			in.r.log.Warn("vrrp: notify script", "instance", in.cfg.Name, "argv", argv, "err", err)
		case !res.Success():
			in.r.log.Warn("vrrp: notify script failed", "instance", in.cfg.Name, "argv", argv,
				"exit", res.ExitCode, "signal", res.Signal, "output", res.Tail())
		}
	}
}
