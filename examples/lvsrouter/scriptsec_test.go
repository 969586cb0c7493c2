package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestScriptUserGroup: script_user's group is kept (scripts run as user
// and group); a group or user that does not exist is keepalived's "Error
// setting global script uid/gid", refused with the script_user line; and
// enable_script_security alone with no script passes whatever users exist.
func TestScriptUserGroup(t *testing.T) {
	dir := t.TempDir()
	tr := func(globals string) (*Plan, error) {
		path := filepath.Join(dir, "keepalived.conf")
		mustWrite(t, path, []byte("global_defs {\n"+globals+"}\n"))
		return translateFile(t, path)
	}
	p, err := tr("  script_user root root\n  enable_script_security\n")
	if err != nil {
		t.Fatal(err)
	}
	if p.Scripts != (ScriptPolicy{User: "root", Group: "root", Security: true}) {
		t.Errorf("script_user root root: %+v", p.Scripts)
	}
	for _, globals := range []string{"  script_user root lvskit-no-such-group\n", "  script_user lvskit-no-such-user\n"} {
		_, err := tr(globals)
		if err == nil || !strings.Contains(err.Error(), "keepalived.conf:2:3: Error setting global script uid/gid") {
			t.Errorf("%q: error %v, want the script_user line and keepalived's message", globals, err)
		}
	}
	if _, err := tr("  enable_script_security\n"); err != nil {
		t.Errorf("enable_script_security without scripts: %v", err)
	}
}

// TestScriptOwnUserMissing: a vrrp_script or MISC_CHECK whose own user
// does not exist is keepalived's "Unable to set uid/gid for script",
// refused at its user line.
func TestScriptOwnUserMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	for conf, pos := range map[string]string{
		"vrrp_script chk {\n  script \"/bin/true\"\n  user lvskit-no-such-user\n}\n":                                                                                              ":3:3",
		"virtual_server 10.0.0.1 80 {\n  protocol TCP\n  real_server 10.1.0.1 80 {\n    MISC_CHECK {\n      misc_path /bin/true\n      user lvskit-no-such-user\n    }\n  }\n}\n": ":6:7",
	} {
		mustWrite(t, path, []byte(conf))
		_, err := translateFile(t, path)
		if err == nil || !strings.Contains(err.Error(), path+pos+": Unable to set uid/gid for script '/bin/true'") {
			t.Errorf("error %v, want one at %s", err, pos)
		}
	}
}
