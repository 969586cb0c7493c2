package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/haproxytest"
	"github.com/lvskit/lvskit/internal/testenv"
)

const seedBackend = "../../haproxy/testdata/seed_5_5_backend.cfg"

func runCtl(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeTemp(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o640); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServersAndSetWeight(t *testing.T) {
	code, out, errs := runCtl(t, "servers", seedBackend)
	if code != 0 {
		t.Fatalf("servers: %d %s", code, errs)
	}
	if !strings.Contains(out, "app3 192.168.1.3:80 check=true backup=false weight=default inter=2s") {
		t.Errorf("servers output:\n%s", out)
	}
	code, out, errs = runCtl(t, "set-weight", seedBackend, "app", "app4", "0")
	if code != 0 {
		t.Fatalf("set-weight: %d %s", code, errs)
	}
	orig, err := os.ReadFile(seedBackend)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(string(orig), "app4 192.168.1.4:80 backup", "app4 192.168.1.4:80 backup weight 0", 1)
	if out != want {
		t.Errorf("set-weight output:\n%s", out)
	}
}

// TestSetWeightValidates: weights HAProxy refuses are refused with exit
// status 1 and the file is left alone; a percentage is taken of the
// server's weight in the file, as HAProxy takes it of the initial weight.
func TestSetWeightValidates(t *testing.T) {
	cfg := "backend be\n  default-server weight 20\n  server a 127.0.0.1:1 weight 10\n  server b 127.0.0.1:2\n  server c 127.0.0.1:3 weight 200\n"
	path := writeTemp(t, "w.cfg", cfg)
	for _, bad := range []string{"999", "257", "-5", "-5%", "abc", "5x", "1.5", ""} {
		code, out, errs := runCtl(t, "set-weight", "-w", path, "be", "a", bad)
		if code != 1 || out != "" || !strings.Contains(errs, "invalid weight") {
			t.Errorf("weight %q: exit %d, stdout %q, stderr %q", bad, code, out, errs)
		}
	}
	for _, c := range []struct{ server, weight, line string }{
		{"a", "50%", "server a 127.0.0.1:1 weight 5"},
		{"b", "50%", "server b 127.0.0.1:2 weight 10"}, // of default-server's 20
		{"c", "300%", "server c 127.0.0.1:3 weight 256"},
		{"a", "256", "server a 127.0.0.1:1 weight 256"},
		{"a", "0", "server a 127.0.0.1:1 weight 0"},
	} {
		code, out, errs := runCtl(t, "set-weight", path, "be", c.server, c.weight)
		if code != 0 || !strings.Contains(out, "  "+c.line+"\n") {
			t.Errorf("%s %s: exit %d, %s\n%s", c.server, c.weight, code, errs, out)
		}
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != cfg {
		t.Fatalf("file changed without -w: %q, %v", got, err)
	}
}

// TestSetWeightWritesFile: -w rewrites the file in place, changing only
// the server's line and keeping the file's mode.
func TestSetWeightWritesFile(t *testing.T) {
	cfg := "# comment\nbackend be  # trailing\n    balance   roundrobin\n    server a 127.0.0.1:1 check   inter 2000ms # keep\n    server b 127.0.0.1:2\n"
	path := writeTemp(t, "w.cfg", cfg)
	code, out, errs := runCtl(t, "set-weight", "-w", path, "be", "a", "7")
	if code != 0 || out != "" {
		t.Fatalf("set-weight -w: exit %d, %q %q", code, out, errs)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(cfg, "inter 2000ms # keep", "inter 2000ms weight 7 # keep", 1)
	if string(got) != want {
		t.Fatalf("file after -w:\n%s\nwant:\n%s", got, want)
	}
	oldLines, newLines := strings.Split(cfg, "\n"), strings.Split(string(got), "\n")
	changed := 0
	for i := range oldLines {
		if oldLines[i] != newLines[i] {
			changed++
		}
	}
	if changed != 1 || len(oldLines) != len(newLines) {
		t.Errorf("%d lines changed, want 1", changed)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode after -w: %v, %v", fi.Mode(), err)
	}
	if code, _, errs := runCtl(t, "set-weight", "-w", path, "be", "nope", "1"); code != 1 || !strings.Contains(errs, `no server "nope"`) {
		t.Errorf("missing server: %d %q", code, errs)
	}
	if code, _, errs := runCtl(t, "set-weight", "-w", path, "nope", "a", "1"); code != 1 || !strings.Contains(errs, `no backend "nope"`) {
		t.Errorf("missing backend: %d %q", code, errs)
	}
}

func TestCheck(t *testing.T) {
	if code, out, errs := runCtl(t, "check", seedBackend); code != 0 || !strings.HasSuffix(out, ": ok\n") || errs != "" {
		t.Fatalf("check: %d %q %q", code, out, errs)
	}
	bad := writeTemp(t, "bad.cfg", "frontend f\n  bind :80\n  default_backend nope\n")
	if code, _, errs := runCtl(t, "check", bad); code != 1 || !strings.Contains(errs, "bad.cfg:3:19: missing backend") {
		t.Fatalf("check bad: %d %q", code, errs)
	}
}

// TestCheckBareBalance: "balance" alone is round robin for haproxy -c,
// and so for check.
func TestCheckBareBalance(t *testing.T) {
	p := writeTemp(t, "b.cfg", "backend be\n  balance\n  server a 127.0.0.1:1\n")
	if code, out, errs := runCtl(t, "check", p); code != 0 || errs != "" {
		t.Fatalf("check: %d %q %q", code, out, errs)
	}
	if code, out, _ := runCtl(t, "servers", p); code != 0 || !strings.Contains(out, "backend be balance=roundrobin") {
		t.Fatalf("servers: %d %q", code, out)
	}
}

// TestCheckHostile: what haproxy -c rejects (NUL byte, a character not
// permitted in a proxy name) fails check with its place; an unknown
// keyword is a warning with its place.
func TestCheckHostile(t *testing.T) {
	for _, c := range []struct {
		name, cfg string
		code      int
		want      string
	}{
		{"nul", "backend be\n  balance roundrobin\x00\n", 1, "h.cfg:2:21: syntax error: stray NUL character at position 21"},
		{"proxy name", "backend b/e\n  server a 127.0.0.1:1\n", 1, "h.cfg:1:10: invalid character in name: character '/' is not permitted in 'backend' name 'b/e'"},
		{"unknown keyword", "backend be\n  frobnicate 1\n", 0, "h.cfg:2:3: warning: unknown keyword: unknown keyword 'frobnicate' in 'backend' section"},
		{"control characters", "backend be\n  mode \x1b[2Jx\n", 1, `unknown proxy mode '\x1b[2Jx'`},
	} {
		p := writeTemp(t, "h.cfg", c.cfg)
		code, _, errs := runCtl(t, "check", p)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%s: exit %d, stderr %q, want %d and %q", c.name, code, errs, c.code, c.want)
		}
		if strings.ContainsRune(errs, 0x1b) || strings.ContainsRune(errs, 0) {
			t.Errorf("%s: raw control character on stderr: %q", c.name, errs)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"check", "-h"}, {"set-weight", "-h"}, {"runtime", "-h"}} {
		code, out, errs := runCtl(t, args...)
		if code != 0 || errs != "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
		for _, cmd := range []string{"check FILE", "servers FILE", "set-weight [-w] FILE BACKEND SERVER WEIGHT", "runtime [-t TIMEOUT] SOCKET WORD...", "Exit status"} {
			if !strings.Contains(out, cmd) {
				t.Errorf("%v: usage lacks %q", args, cmd)
			}
		}
	}
	for _, args := range [][]string{nil, {"bogus"}, {"check"}, {"check", "a", "b"}, {"set-weight", "f", "b", "s"}, {"runtime", "sock"}, {"set-weight", "-x", "f", "b", "s", "1"}} {
		if code, out, errs := runCtl(t, args...); code != 2 || out != "" || !strings.Contains(errs, "usage: haproxyctl") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	if code, _, errs := runCtl(t, "check", filepath.Join(t.TempDir(), "missing.cfg")); code != 1 || !strings.Contains(errs, "missing.cfg") {
		t.Errorf("missing file: exit %d, %q", code, errs)
	}
}

// TestRuntimeOneCommand: the arguments after the socket are the words of
// one command sent as one line (a single argument is split at spaces),
// and the answer is printed.
func TestRuntimeOneCommand(t *testing.T) {
	for _, args := range [][]string{{"show", "servers", "state"}, {"show servers state"}} {
		sock, lines := haproxytest.Socket(t, "1\n# be_id be_name")
		code, out, errs := runCtl(t, append([]string{"runtime", sock}, args...)...)
		if code != 0 || out != "1\n# be_id be_name\n" {
			t.Fatalf("%q: exit %d, %q %q", args, code, out, errs)
		}
		got := lines()
		if len(got) != 2 || got[1] != "show servers state" {
			t.Fatalf("%q: socket got %q, want the set-up and one command line", args, got)
		}
	}
	// A ';' in a word is escaped: still one command.
	sock, lines := haproxytest.Socket(t, "")
	if code, _, errs := runCtl(t, "runtime", sock, "set", "var", "proc.x", "str(a;b)"); code != 0 {
		t.Fatalf("exit %d %q", code, errs)
	}
	if got := lines(); len(got) != 2 || got[1] != `set var proc.x str(a\;b)` {
		t.Fatalf("socket got %q", got)
	}
}

// TestRuntimeRefusalExitsNonZero: HAProxy's error answers (and "Unknown
// command") make haproxyctl exit 1 with the message on stderr.
func TestRuntimeRefusalExitsNonZero(t *testing.T) {
	for _, reply := range []string{"[3]: No such server.\n", "[6]: Unknown command, but maybe one of the following ones is a better match:\n  help"} {
		sock, _ := haproxytest.Socket(t, reply)
		code, out, errs := runCtl(t, "runtime", sock, "set", "server", "be/x", "weight", "1")
		if code != 1 || out != "" || !strings.Contains(errs, strings.SplitN(reply[5:], "\n", 2)[0]) {
			t.Errorf("reply %q: exit %d, stdout %q, stderr %q", reply, code, out, errs)
		}
	}
	if code, _, errs := runCtl(t, "runtime", filepath.Join(t.TempDir(), "none.sock"), "show", "info"); code != 1 || !strings.Contains(errs, "dial") {
		t.Errorf("no socket: exit %d, %q", code, errs)
	}
}

// TestRuntimeAgainstHAProxy drives a real HAProxy: one command per call,
// its answer printed, its refusals exit 1.
func TestRuntimeAgainstHAProxy(t *testing.T) {
	bin := testenv.NeedTool(t, "haproxy")
	dir, err := os.MkdirTemp("", "lvskit-ctl-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "admin.sock")
	cfg := writeTemp(t, "h.cfg", "global\n  stats socket "+sock+" mode 600 level admin\ndefaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\nbackend be\n  server a 127.0.0.1:1 weight 10\n")
	cmd := exec.Command(bin, "-db", "-f", cfg)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if i > 500 {
			t.Fatalf("no stats socket")
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, out, errs := runCtl(t, "runtime", sock, "show", "servers", "state")
	if code != 0 || !strings.Contains(out, "# be_id be_name srv_id srv_name") || !strings.Contains(out, " be 1 a 127.0.0.1 ") {
		t.Fatalf("show servers state: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runCtl(t, "runtime", sock, "set server be/a weight 50%"); code != 0 || out != "" {
		t.Fatalf("set weight 50%%: exit %d %q %q", code, out, errs)
	}
	if code, out, _ := runCtl(t, "runtime", sock, "get", "weight", "be/a"); code != 0 || out != "5 (initial 10)\n" {
		t.Fatalf("get weight: exit %d %q", code, out)
	}
	for _, args := range [][]string{{"set", "server", "be/nope", "weight", "1"}, {"set", "server", "be/a", "weight", "999"}, {"frobnicate"}} {
		if code, out, errs := runCtl(t, append([]string{"runtime", sock}, args...)...); code != 1 || out != "" || errs == "" {
			t.Errorf("%v: exit %d, %q %q", args, code, out, errs)
		}
	}
}

// TestRuntimeTimeout: -t bounds the exchange with a socket that never
// answers.
func TestRuntimeTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mute.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			buf := make([]byte, 512)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		}
	}()
	code, _, errs := runCtl(t, "runtime", "-t", "100ms", path, "show", "info")
	if code != 1 || !strings.Contains(errs, "context deadline exceeded") {
		t.Fatalf("exit %d, %q", code, errs)
	}
	if code, _, _ := runCtl(t, "runtime", "-t", "soon", path, "show", "info"); code != 2 {
		t.Fatalf("bad -t: exit %d", code)
	}
}
