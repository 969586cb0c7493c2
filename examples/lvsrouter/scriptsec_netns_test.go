//go:build netns

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
)

// TestScriptSecurityMatchesKeepalived runs keepalived -t and lvsrouter -t
// on script_user / enable_script_security variants over MISC_CHECK
// scripts that are safe, world- or group-writable, owned by another user,
// in a world-writable or sticky directory, missing, relative, and run
// through a shell, and on script_user with a missing user or group, and
// expects the same exit code each time (0; 5 for errors; 6 for scripts
// without enable_script_security). Left out: script_user nobody, on which
// keepalived 2.2.7 kills itself (lvsrouter runs the scripts as nobody).
// It needs root: keepalived judges scripts by their owner.
func TestScriptSecurityMatchesKeepalived(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "keepalived")
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mkdir := func(name string, mode os.FileMode) string {
		d := filepath.Join(dir, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
		return d
	}
	script := func(d, name string, mode os.FileMode) string {
		p := filepath.Join(d, name)
		mustWrite(t, p, []byte("#!/bin/sh\nexit 0\n"))
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	safe, wdir, sticky := mkdir("safe", 0o755), mkdir("wdir", 0o777), mkdir("sticky", 0o1777)
	ok := script(safe, "ok.sh", 0o755)
	nobody := script(safe, "nobody.sh", 0o755)
	if err := os.Chown(nobody, 65534, -1); err != nil {
		t.Fatal(err)
	}
	sec := "  script_user root\n  enable_script_security\n"
	for _, c := range []struct{ name, globals, path string }{
		{"no security", "", ok},
		{"no security, writable", "", script(safe, "w777.sh", 0o777)},
		{"root, safe", sec, ok},
		{"root, world-writable", sec, filepath.Join(safe, "w777.sh")},
		{"root, group-writable", sec, script(safe, "g775.sh", 0o775)},
		{"root, owned by nobody", sec, nobody},
		{"root, writable directory", sec, script(wdir, "ok.sh", 0o755)},
		{"root, sticky directory", sec, script(sticky, "ok.sh", 0o755)},
		{"root, missing", sec, filepath.Join(safe, "nosuch.sh")},
		{"root, relative", sec, "ok.sh"},
		{"root, shell", sec, "/bin/sh -c 'exit 0'"},
		{"root, /bin/true", sec, "/bin/true"},
		{"no user, security", "  enable_script_security\n", ok},
		{"missing user", "  script_user nosuchuser\n", ok},
		{"missing user, security", "  script_user nosuchuser\n  enable_script_security\n", ok},
		{"missing group", "  script_user root nosuchgroup\n  enable_script_security\n", ok},
		{"user and group", "  script_user root root\n  enable_script_security\n", ok},
		{"security, no scripts", "  enable_script_security\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			check := ""
			if c.path != "" {
				check = fmt.Sprintf("    MISC_CHECK {\n      misc_path \"%s\"\n    }\n", c.path)
			}
			conf := filepath.Join(t.TempDir(), "keepalived.conf")
			mustWrite(t, conf, fmt.Appendf(nil, "global_defs {\n%s}\nvirtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n  real_server 10.1.0.1 80 {\n%s  }\n}\n", c.globals, check))
			want, out := exitCode(t, exec.Command("keepalived", "-t", "-l", "-f", conf))
			if got := run([]string{"-t", "-f", conf}, io.Discard, io.Discard); got != want {
				t.Errorf("lvsrouter -t exit %d, keepalived -t exit %d:\n%s", got, want, out)
			} else {
				t.Logf("both exit %d", got)
			}
		})
	}
}

// exitCode runs cmd and returns its exit code and output; it fails the
// test when cmd cannot run at all.
func exitCode(t *testing.T, cmd *exec.Cmd) (int, []byte) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), out
	case err != nil:
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	return 0, out
}
