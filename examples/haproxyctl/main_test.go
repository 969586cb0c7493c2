package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const seedBackend = "../../haproxy/testdata/seed_5_5_backend.cfg"

func TestServersAndSetWeight(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"servers", seedBackend}, &out, &errb); code != 0 {
		t.Fatalf("servers: %d %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "app3 192.168.1.3:80 check=true backup=false weight=default inter=2s") {
		t.Errorf("servers output:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"set-weight", seedBackend, "app", "app4", "0"}, &out, &errb); code != 0 {
		t.Fatalf("set-weight: %d %s", code, errb.String())
	}
	orig, _ := os.ReadFile(seedBackend)
	want := strings.Replace(string(orig), "app4 192.168.1.4:80 backup", "app4 192.168.1.4:80 backup weight 0", 1)
	if out.String() != want {
		t.Errorf("set-weight output:\n%s", out.String())
	}
}

func TestCheck(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"check", seedBackend}, &out, &errb); code != 0 {
		t.Fatalf("check: %d %s", code, errb.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.cfg")
	os.WriteFile(bad, []byte("frontend f\n  bind :80\n  default_backend nope\n"), 0o600)
	errb.Reset()
	if code := run([]string{"check", bad}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "bad.cfg:3:19: missing backend") {
		t.Fatalf("check bad: %d %q", code, errb.String())
	}
	if code := run(nil, &out, &errb); code != 2 {
		t.Fatalf("no args: %d", code)
	}
}
