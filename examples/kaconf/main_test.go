package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const seed = "../../keepalivedconf/testdata/seed/"

func runKaconf(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheck(t *testing.T) {
	code, _, stderr := runKaconf("check", seed+"nat_lb1_full.conf")
	if code != 0 || stderr != "" {
		t.Fatalf("valid config: exit %d, %q", code, stderr)
	}
	code, _, stderr = runKaconf("check", seed+"dr_master_virtual_server.conf")
	if code != 1 || !strings.Contains(stderr, "dr_master_virtual_server.conf:1:1: error: missing '{' at beginning of virtual_server block") ||
		!strings.Contains(stderr, "dr_master_virtual_server.conf:29:1: error: extra '}' found") {
		t.Fatalf("broken config: exit %d, %q", code, stderr)
	}
	if code, _, _ := runKaconf("check", "/nonexistent/keepalived.conf"); code != 1 {
		t.Fatalf("missing file: exit %d", code)
	}
	if code, _, _ := runKaconf("frobnicate"); code != 2 {
		t.Fatalf("bad command: exit %d", code)
	}
}

func TestLintCommand(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k.conf")
	src := "virtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 10.0.0.1 80 {\n    weight 0\n  }\n}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runKaconf("check", path); code != 0 {
		t.Fatalf("check: exit %d %q", code, stderr)
	}
	code, _, stderr := runKaconf("lint", path)
	if code != 1 || !strings.Contains(stderr, "k.conf:1:1: lint: every real server of virtual server 192.0.2.1:80 has weight 0") {
		t.Fatalf("lint: exit %d %q", code, stderr)
	}
}

func TestJSON(t *testing.T) {
	code, stdout, stderr := runKaconf("json", seed+"nat_lb2_full.conf")
	if code != 0 {
		t.Fatalf("exit %d %q", code, stderr)
	}
	var v struct {
		Instances []struct {
			Name     string
			State    string
			Priority int
		}
		VirtualServers []struct {
			Addr        string
			RealServers []struct {
				Checkers []struct{ Type string }
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Instances) != 2 || v.Instances[0].State != "BACKUP" || v.Instances[1].Priority != 99 ||
		v.VirtualServers[0].Addr != "10.0.0.1:80" || v.VirtualServers[0].RealServers[3].Checkers[0].Type != "TCP_CHECK" {
		t.Fatalf("json: %s", stdout)
	}
}

func TestFmt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k.conf")
	src := "global_defs {\n  router_id a   # id\n}\nvirtual_server 192.0.2.1 80 { protocol TCP\n real_server 10.0.0.1 80 { weight 1 } }\n"
	want := "global_defs {\n    router_id a # id\n}\nvirtual_server 192.0.2.1 80 {\n    protocol TCP\n    real_server 10.0.0.1 80 {\n        weight 1\n    }\n}\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runKaconf("fmt", path)
	if code != 0 || stdout != want {
		t.Fatalf("fmt: exit %d\n%s", code, stdout)
	}
	if code, _, _ := runKaconf("fmt", "-w", path); code != 0 {
		t.Fatalf("fmt -w: exit %d", code)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("fmt -w wrote %q (%v)", got, err)
	}
	// a file with unbalanced braces is refused, not guessed at
	if err := os.WriteFile(path, []byte("a {\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runKaconf("fmt", "-w", path); code != 1 || !strings.Contains(stderr, "missing '}'") {
		t.Fatalf("fmt on broken file: exit %d %q", code, stderr)
	}
}
