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
	code, stdout, stderr := runKaconf("check", seed+"nat_lb1_full.conf")
	if code != 0 || stderr != "" || !strings.Contains(stdout, "nat_lb1_full.conf: configuration OK") {
		t.Fatalf("valid config: exit %d, %q %q", code, stdout, stderr)
	}
	// keepalived -t exits 5 on a configuration it rejects
	code, _, stderr = runKaconf("check", seed+"dr_master_virtual_server.conf")
	if code != 5 || !strings.Contains(stderr, "dr_master_virtual_server.conf:1:1: error: missing '{' at beginning of virtual_server block") ||
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

func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "help", "--help"} {
		code, stdout, _ := runKaconf(arg)
		if code != 0 {
			t.Fatalf("%s: exit %d", arg, code)
		}
		for _, cmd := range []string{"fmt [-w]", "check [-i ID]", "lint [-i ID]", "json [-i ID]", "Exit 5"} {
			if !strings.Contains(stdout, cmd) {
				t.Errorf("%s: help does not explain %q:\n%s", arg, cmd, stdout)
			}
		}
	}
	if code, _, _ := runKaconf("check", "-h"); code != 0 {
		t.Fatalf("check -h: exit %d", code)
	}
	if code, _, _ := runKaconf(); code != 2 {
		t.Fatalf("no command: exit %d", code)
	}
}

// TestSeedTyposHint: the seed's Appendix A spells vrp_script and
// vrp_instance; check points at both and suggests the keyword, and exits
// 5 as keepalived -t does (without a hint) on them.
func TestSeedTyposHint(t *testing.T) {
	code, _, stderr := runKaconf("check", seed+"haproxy_keepalived.conf")
	if code != 5 ||
		!strings.Contains(stderr, "haproxy_keepalived.conf:1:1: warning: unknown keyword 'vrp_script' (did you mean vrrp_script?)") ||
		!strings.Contains(stderr, "haproxy_keepalived.conf:7:1: warning: unknown keyword 'vrp_instance' (did you mean vrrp_instance?)") {
		t.Fatalf("exit %d %q", code, stderr)
	}
}

// TestDiagnosticsCappedAndEscaped: 5,000 bad lines print 100 diagnostics
// and one line counting the rest; control characters are escaped.
func TestDiagnosticsCappedAndEscaped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k.conf")
	src := "global_defs {\n    fo\x1b[31mo 1\n" + strings.Repeat("    bad_keyword 1\n", 5000) + "}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runKaconf("check", path)
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if code != 5 || len(lines) != 101 || !strings.Contains(lines[100], "more warning diagnostics") {
		t.Fatalf("exit %d, %d lines, last %q", code, len(lines), lines[len(lines)-1])
	}
	if strings.ContainsRune(stderr, 0x1b) || !strings.Contains(stderr, `fo\x1b[31mo`) {
		t.Fatalf("control character not escaped: %q", lines[0])
	}
}

// TestFmtDeepNestingBounded: fmt of a 48 KB file of nested blocks used to
// print 256 MB (indentation grows with depth); now nesting beyond the limit
// is an error and indentation stops at 16 levels.
func TestFmtDeepNestingBounded(t *testing.T) {
	dir := t.TempDir()
	deep := filepath.Join(dir, "deep.conf")
	n := 12000 // 48 KB
	if err := os.WriteFile(deep, []byte(strings.Repeat("a{\n", n)+strings.Repeat("}\n", n)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runKaconf("fmt", deep)
	if code != 1 || len(stdout) != 0 || !strings.Contains(stderr, "deep.conf:1001:2: error: blocks nested more than 1000 deep") {
		t.Fatalf("exit %d, %d bytes out, %q", code, len(stdout), stderr[:min(len(stderr), 300)])
	}
	// within the limit the output stays within a small factor of the input
	okf := filepath.Join(dir, "ok.conf")
	in := strings.Repeat("a{\n", 900) + strings.Repeat("b 1\n", 10000) + strings.Repeat("}\n", 900)
	if err := os.WriteFile(okf, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runKaconf("fmt", okf)
	if code != 0 || len(stdout) > 20*len(in) {
		t.Fatalf("exit %d, %d bytes from %d: %q", code, len(stdout), len(in), stderr)
	}
}

// TestCheckAgreesWithKeepalived: what keepalived 2.2.7 -t measured, check
// gives (issue #21 item 8): a missing plain include passes (exit 0), a
// line of 1024 bytes fails (exit 5), a FIFO include is skipped, not read.
func TestCheckAgreesWithKeepalived(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := "global_defs {\n    router_id r1\n}\n"
	for _, tc := range []struct {
		name, body string
		code       int
	}{
		{"missing-include.conf", "include nonexist.conf\n" + good, 0},
		{"line-1023.conf", "global_defs {\n    router_id " + strings.Repeat("a", 1023-len("    router_id ")) + "\n}\n", 0},
		{"line-1024.conf", "global_defs {\n    router_id " + strings.Repeat("a", 1024-len("    router_id ")) + "\n}\n", 5},
		{"includem-missing.conf", "includem nonexist.conf\n" + good, 5},
		{"seq-bomb.conf", "~SEQ(i,1,4000000) ~SEQ(j,1,4000000) $X=$i\n", 5},
	} {
		code, _, stderr := runKaconf("check", write(tc.name, tc.body))
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d: %q", tc.name, code, tc.code, stderr)
		}
	}
}
