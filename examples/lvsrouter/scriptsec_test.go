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
