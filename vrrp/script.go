package vrrp

import (
	"context"
	"fmt"

	"github.com/lvskit/lvskit/internal/proc"
)

// scriptCreds holds an instance's resolved script users.
type scriptCreds struct {
	track  []*proc.Credential // per TrackScripts entry; nil: as ourselves
	notify *proc.Credential
}

// credential resolves a script's User and Group.
func credential(user, group string) (*proc.Credential, error) {
	if user == "" && group == "" {
		return nil, nil
	}
	if user == "" {
		user = "root"
	}
	return proc.LookupCredential(user, group)
}

// resolveScripts looks the scripts' users up.
func (c *Config) resolveScripts() (scriptCreds, error) {
	var sc scriptCreds
	for i, s := range c.TrackScripts {
		cred, err := credential(s.User, s.Group)
		if err != nil {
			return sc, fmt.Errorf("vrrp: instance %s: TrackScripts[%d]: %w", c.Name, i, err)
		}
		sc.track = append(sc.track, cred)
	}
	cred, err := credential(c.Notify.User, c.Notify.Group)
	if err != nil {
		return sc, fmt.Errorf("vrrp: instance %s: Notify: %w", c.Name, err)
	}
	sc.notify = cred
	return sc, nil
}

// runTrackScript runs s once and reports whether it succeeded (exit status
// 0 within s.Timeout).
func runTrackScript(ctx context.Context, s *TrackScript, cred *proc.Credential, security bool) (bool, error) {
	res, err := proc.Run(ctx, &proc.Cmd{Argv: s.Command, Timeout: s.Timeout, Cred: cred, ScriptSecurity: security})
	if err != nil {
		return false, err
	}
	return res.Success(), nil
}

// runNotify runs one notify script to its end or its timeout.
func runNotify(ctx context.Context, argv []string, n *Notify, cred *proc.Credential, security bool) (proc.Result, error) {
	return proc.Run(ctx, &proc.Cmd{Argv: argv, Timeout: n.Timeout, Cred: cred, ScriptSecurity: security, KeepGroup: true})
}
