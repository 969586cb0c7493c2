package main

import (
	"os/user"

	"github.com/lvskit/lvskit/internal/proc"
	"github.com/lvskit/lvskit/keepalivedconf"
)

// scriptPolicy reads script_user and enable_script_security as keepalived
// 2.2.7 does (lib/notify.c). A script_user whose user or group does not
// exist is keepalived's "Error setting global script uid/gid" (-t fails;
// keepalived then removes every script that has no user of its own):
// lvsrouter refuses the configuration, naming the line. Without
// script_user, scripts run as keepalived_script when that user exists, as
// lvsrouter's own user otherwise; but under enable_script_security a
// missing keepalived_script is keepalived's "Unable to set default user
// keepalived_script for script" as soon as one script needs the default
// user, and lvsrouter refuses that too (naming the script) rather than run
// it as root or drop it. A configuration without such scripts passes, as
// in keepalived.
//
// A script's own user (vrrp_script's and MISC_CHECK's `user`) that does
// not exist is keepalived's "Unable to set uid/gid for script": refused
// with the user line too.
func scriptPolicy(cfg *keepalivedconf.Config) (ScriptPolicy, []error) {
	errs := ownUserErrors(cfg)
	sp, err := globalScriptPolicy(cfg)
	if err != nil {
		errs = append(errs, err)
	}
	return sp, errs
}

// ownUserErrors reports the scripts whose own user does not exist.
func ownUserErrors(cfg *keepalivedconf.Config) []error {
	var errs []error
	bad := func(at *keepalivedconf.Stmt, name, script string) {
		if _, err := proc.LookupCredential(name, ""); err != nil {
			if u := at.Block.Find("user"); u != nil {
				at = u
			}
			errs = append(errs, errAt(at, "Unable to set uid/gid for script '%s': %v", script, err))
		}
	}
	for _, s := range cfg.Scripts {
		if s.User != "" && s.Stmt != nil {
			bad(s.Stmt, s.User, s.Script)
		}
	}
	for _, vs := range cfg.VirtualServers {
		for _, rs := range vs.RealServers {
			for _, c := range rs.Checkers {
				if m, ok := c.(*keepalivedconf.MiscCheck); ok && m.User != "" && m.Stmt != nil {
					bad(m.Stmt, m.User, m.Path)
				}
			}
		}
	}
	return errs
}

// globalScriptPolicy is script_user and enable_script_security.
func globalScriptPolicy(cfg *keepalivedconf.Config) (ScriptPolicy, error) {
	g := cfg.GlobalDefs
	if g == nil {
		return ScriptPolicy{}, nil
	}
	sp := ScriptPolicy{User: g.ScriptUser, Group: g.ScriptGroup, Security: g.EnableScriptSecurity}
	if g.ScriptUser != "" {
		if _, err := sp.credential(); err != nil {
			var at *keepalivedconf.Stmt
			if g.Stmt != nil {
				at = g.Stmt.Block.Find("script_user")
			}
			return sp, errAt(at, "Error setting global script uid/gid: %v", err)
		}
		return sp, nil
	}
	if !g.EnableScriptSecurity {
		return sp, nil
	}
	if _, err := user.Lookup(defaultScriptUser); err == nil {
		sp.User = defaultScriptUser
		return sp, nil
	}
	if at := defaultUserScript(cfg); at != nil {
		return sp, errAt(at, "Unable to set default user %s for script (enable_script_security without script_user; keepalived drops the script, lvsrouter does not start without it)", defaultScriptUser)
	}
	return sp, nil
}

// defaultUserScript returns the first script statement that would run as
// the default script user: a script without a user of its own.
func defaultUserScript(cfg *keepalivedconf.Config) *keepalivedconf.Stmt {
	for _, s := range cfg.Scripts {
		if s.Script != "" && s.User == "" {
			return s.Stmt
		}
	}
	for _, g := range cfg.SyncGroups {
		if g.Notify+g.NotifyMaster+g.NotifyBackup+g.NotifyFault != "" {
			return g.Stmt
		}
	}
	for _, in := range cfg.Instances {
		if in.Notify+in.NotifyMaster+in.NotifyBackup+in.NotifyFault+in.NotifyStop != "" {
			return in.Stmt
		}
	}
	for _, vs := range cfg.VirtualServers {
		if vs.QuorumUp+vs.QuorumDown != "" {
			return vs.Stmt
		}
		for _, rs := range vs.RealServers {
			if rs.NotifyUp+rs.NotifyDown != "" {
				return rs.Stmt
			}
			for _, c := range rs.Checkers {
				if m, ok := c.(*keepalivedconf.MiscCheck); ok && m.Path != "" && m.User == "" {
					return m.Stmt
				}
			}
		}
	}
	return nil
}
