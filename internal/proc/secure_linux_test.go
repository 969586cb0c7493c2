package proc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
)

// secureTree makes dir/sub/s.sh, all root-owned, 0755, under a fresh
// temporary directory (itself under the sticky, root-owned /tmp).
func secureTree(t *testing.T) (dir, sub, script string) {
	t.Helper()
	testenv.NeedRoot(t)
	dir = t.TempDir()
	sub = filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	script = writeScript(t, sub, "touch "+filepath.Join(dir, "ran"))
	for _, p := range []string{dir, sub, script} {
		if err := os.Chown(p, 0, 0); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := CheckSecure(script, nil); err != nil {
		testenv.Missing(t, "a temporary directory on a secure path: %v", err) // e.g. TMPDIR owned by a user
	}
	return dir, sub, script
}

func TestCheckSecure(t *testing.T) {
	nobody := &Credential{UID: 65534, GID: 65534}
	cases := []struct {
		name   string
		change func(t *testing.T, dir, sub, script string)
		cred   *Credential
		bad    string // "script", "sub", "dir" or "" for secure
		reason string
	}{
		{name: "root-owned 0755", bad: ""},
		{name: "script world-writable", change: chmod("script", 0o757), bad: "script", reason: "writable by others"},
		{name: "script group-writable, group root", change: chmod("script", 0o775), bad: ""},
		{name: "script group-writable, group 100", change: both(chown("script", 0, 100), chmod("script", 0o775)), bad: "script", reason: "writable by group 100"},
		{name: "script owned by a user", change: chown("script", 1000, 0), bad: "script", reason: "owned by uid 1000"},
		{name: "script sticky and world-writable", change: chmod("script", 0o1757), bad: "script", reason: "writable by others"},
		{name: "directory world-writable", change: chmod("sub", 0o777), bad: "sub", reason: "writable by others"},
		{name: "directory sticky world-writable", change: chmod("sub", 0o1777), bad: ""},
		{name: "directory owned by a user", change: chown("dir", 1000, 1000), bad: "dir", reason: "owned by uid 1000"},
		{name: "insecure, but run as nobody", change: chmod("script", 0o757), cred: nobody, bad: ""},
		{name: "insecure, run as group root", change: chmod("script", 0o757), cred: &Credential{UID: 65534, GID: 0}, bad: "script"},
		{name: "set-uid root run as nobody", change: chmod("script", 0o4757), cred: nobody, bad: "script"},
		{name: "set-gid root run as nobody", change: chmod("script", 0o2777), cred: nobody, bad: "script"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, sub, script := secureTree(t)
			if tc.change != nil {
				tc.change(t, dir, sub, script)
			}
			err := CheckSecure(script, tc.cred)
			if tc.bad == "" {
				if err != nil {
					t.Fatalf("CheckSecure = %v, want secure", err)
				}
				return
			}
			want := map[string]string{"dir": dir, "sub": sub, "script": script}[tc.bad]
			var ie *InsecureError
			if !errors.As(err, &ie) || !errors.Is(err, ErrInsecure) {
				t.Fatalf("CheckSecure = %v, want an InsecureError", err)
			}
			if ie.Path != want || ie.Script != script || !strings.Contains(ie.Reason, tc.reason) {
				t.Fatalf("InsecureError = %+v, want path %s, reason %q", ie, want, tc.reason)
			}
		})
	}
}

// TestRunRefusesInsecureScript: Run with ScriptSecurity does not execute a
// world-writable script, and runs it once it is fixed.
func TestRunRefusesInsecureScript(t *testing.T) {
	dir, _, script := secureTree(t)
	if err := os.Chmod(script, 0o777); err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), &Cmd{Argv: []string{script}, ScriptSecurity: true})
	if !errors.Is(err, ErrInsecure) || r.Pid != 0 {
		t.Fatalf("Run = %+v, %v; want ErrInsecure and no process", r, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Fatal("the insecure script ran")
	}
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	if r, err := Run(context.Background(), &Cmd{Argv: []string{script}, ScriptSecurity: true}); err != nil || !r.Success() {
		t.Fatalf("secure script: %+v, %v", r, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err != nil {
		t.Fatal("the secure script did not run")
	}
}

// TestCheckSecureBareName looks a bare name up in PATH.
func TestCheckSecureBareName(t *testing.T) {
	testenv.NeedRoot(t)
	dir, _, script := secureTree(t)
	t.Setenv("PATH", filepath.Dir(script))
	if err := CheckSecure("s.sh", nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := CheckSecure("s.sh", nil); !errors.Is(err, ErrInsecure) {
		t.Fatalf("CheckSecure = %v", err)
	}
	if err := CheckSecure("no-such-lvskit-script", nil); err == nil || errors.Is(err, ErrInsecure) {
		t.Fatalf("missing: %v", err)
	}
}

// TestRunAsUser: Cred runs the program as that user and group, with no
// supplementary groups.
func TestRunAsUser(t *testing.T) {
	testenv.NeedRoot(t)
	cred, err := LookupCredential("nobody", "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), &Cmd{Argv: []string{"/bin/sh", "-c", "id -u; id -g; id -G"}, Cred: cred})
	if err != nil || !r.Success() {
		t.Fatalf("Run = %+v, %v", r, err)
	}
	want := []string{u32(cred.UID), u32(cred.GID), u32(cred.GID)}
	if got := strings.Fields(string(r.Output)); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("id = %q, want %q", got, want)
	}
}

func TestLookupCredential(t *testing.T) {
	c, err := LookupCredential("root", "")
	if err != nil || *c != (Credential{}) {
		t.Fatalf("root = %+v, %v", c, err)
	}
	c, err = LookupCredential("0", "0")
	if err != nil || *c != (Credential{}) {
		t.Fatalf("0 0 = %+v, %v", c, err)
	}
	if _, err := LookupCredential("no-such-user-lvskit", ""); err == nil {
		t.Fatal("unknown user accepted")
	}
	if _, err := LookupCredential("root", "no-such-group-lvskit"); err == nil {
		t.Fatal("unknown group accepted")
	}
}

func u32(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

func chmod(which string, mode os.FileMode) func(t *testing.T, dir, sub, script string) {
	return func(t *testing.T, dir, sub, script string) {
		t.Helper()
		p := map[string]string{"dir": dir, "sub": sub, "script": script}[which]
		// os.Chmod maps the Go mode bits; set-id and sticky need them.
		m := mode & 0o777
		if mode&0o4000 != 0 {
			m |= os.ModeSetuid
		}
		if mode&0o2000 != 0 {
			m |= os.ModeSetgid
		}
		if mode&0o1000 != 0 {
			m |= os.ModeSticky
		}
		if err := os.Chmod(p, m); err != nil {
			t.Fatal(err)
		}
	}
}

func chown(which string, uid, gid int) func(t *testing.T, dir, sub, script string) {
	return func(t *testing.T, dir, sub, script string) {
		t.Helper()
		p := map[string]string{"dir": dir, "sub": sub, "script": script}[which]
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

func both(fs ...func(t *testing.T, dir, sub, script string)) func(t *testing.T, dir, sub, script string) {
	return func(t *testing.T, dir, sub, script string) {
		for _, f := range fs {
			f(t, dir, sub, script)
		}
	}
}
