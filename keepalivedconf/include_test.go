package keepalivedconf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestParseFileIncludes(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"keepalived.conf":        "global_defs {\n    router_id r1\n}\ninclude conf.d/*.conf # relative to this file\n",
		"conf.d/10-a.conf":       "include ../sub/b.conf\nvrrp_instance A {\n    interface eth0\n    virtual_router_id 1\n}\n",
		"conf.d/20-loop.conf":    "includem 20-loop.conf\n",
		"sub/b.conf":             "vrrp_instance B {\n    interface eth0\n    virtual_router_id 2\n}\n",
		"conf.d/ignored.notconf": "garbage {\n",
	})
	main := filepath.Join(dir, "keepalived.conf")
	f, err := ParseFile(main)
	if err == nil || !strings.Contains(err.Error(), "20-loop.conf:1:1: include cycle: ") || !errors.Is(err, ErrInclude) {
		t.Fatalf("ParseFile: %v", err)
	}
	var inc *Stmt
	for _, s := range f.Stmts {
		if s.Keyword() == "include" {
			inc = s
		}
	}
	if inc == nil || len(f.Includes[inc]) != 2 {
		t.Fatalf("includes: %v", f.Includes)
	}
	a := f.Includes[inc][0]
	if filepath.Base(a.Name) != "10-a.conf" || string(a.Format()) != "include ../sub/b.conf\nvrrp_instance A {\n    interface eth0\n    virtual_router_id 1\n}\n" {
		t.Fatalf("included file %s", a.Name)
	}
	if len(a.Includes) != 1 {
		t.Fatalf("nested include not recorded: %v", a.Includes)
	}
	ex, _ := f.Expand()
	cfg, _ := ex.Config()
	if len(cfg.Instances) != 2 || cfg.Instances[0].Name != "B" || cfg.Instances[1].Name != "A" ||
		!strings.HasSuffix(cfg.Instances[0].Stmt.Pos.Filename, filepath.Join("sub", "b.conf")) || cfg.Instances[0].Stmt.Pos.Line != 1 {
		t.Fatalf("expanded instances: %+v", cfg.Instances)
	}
	if cfg.GlobalDefs.RouterID != "r1" {
		t.Fatalf("router_id %q", cfg.GlobalDefs.RouterID)
	}
}

func TestIncludeChecks(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"plain.conf":   "include missing/*.conf\n",
		"checked.conf": "includem missing/*.conf\n",
		"brace.conf":   "includeb {a,b}.conf\n",
		"a.conf":       "global_defs {\n}\n",
	})
	for _, tc := range []struct {
		file string
		lint bool
		want string
	}{
		{"plain.conf", true, "no config files matched 'missing/*.conf'"},
		{"checked.conf", false, "no config files matched 'missing/*.conf'"},
		{"brace.conf", false, "b.conf' matches no file"},
	} {
		f, err := ParseFile(filepath.Join(dir, tc.file))
		var l ErrorList
		if tc.lint {
			// keepalived 2.2.7 accepts a plain include that matches
			// nothing: a lint finding, never an error
			if err != nil {
				t.Errorf("%s: %v", tc.file, err)
				continue
			}
			cfg, err := f.Config()
			if err != nil {
				t.Errorf("%s: Config: %v", tc.file, err)
				continue
			}
			l = cfg.Lint()
		} else if !errors.As(err, &l) {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		if len(l) != 1 || !strings.Contains(l[0].Msg, tc.want) || l[0].Pos.Line != 1 {
			t.Errorf("%s: %v", tc.file, l)
		}
	}
}

func TestConditionalsInTypedView(t *testing.T) {
	src := "vrrp_instance A {\n    interface eth0\n    virtual_router_id 1\n    @lb1 priority 200\n    @^lb1 priority 50\n}\n"
	f, _ := Parse("c.conf", []byte(src))
	// the raw view reads as keepalived does without a config id
	cfg, _ := f.Config()
	if cfg.Instances[0].Priority != 50 {
		t.Fatalf("raw priority %d", cfg.Instances[0].Priority)
	}
	f, _ = (&ParseConfig{ConfigID: "lb1"}).Parse("c.conf", []byte(src))
	cfg, _ = f.Config()
	if p := cfg.Instances[0]; p.Priority != 200 || p.Stmt.Block.Find("priority").Pos.String() != "c.conf:4:10" {
		t.Fatalf("lb1 priority %d at %v", p.Priority, p.Stmt.Block.Find("priority").Pos)
	}
}

func TestPredefinedPWD(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"keepalived.conf": "include sub/x.conf\nglobal_defs {\n    router_id ${_PWD}\n}\n",
		"sub/x.conf":      "$WHERE=${_PWD}\nglobal_defs {\n    lvs_id $WHERE\n}\n",
	})
	f, err := ParseFile(filepath.Join(dir, "keepalived.conf"))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := f.Expand()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ex.Config()
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	if cfg.GlobalDefs.RouterID != abs || cfg.GlobalDefs.LVSID != filepath.Join(abs, "sub") {
		t.Fatalf("_PWD: router_id %q lvs_id %q, want %q and %q/sub", cfg.GlobalDefs.RouterID, cfg.GlobalDefs.LVSID, abs, abs)
	}
}

func TestSeqBounds(t *testing.T) {
	for _, src := range []string{
		"~SEQ(i, 9223372036854775805, 9223372036854775807) a $i\n",
		"~SEQ(i, -9223372036854775808, 9223372036854775807) a $i\n",
		"~SEQ(i,10000) ~SEQ(j, 1000000) a $i $j\n",
	} {
		f, _ := (&ParseConfig{Limits: Limits{MaxLines: 1000}}).Parse("s.conf", []byte(src))
		ex, err := f.Expand()
		if n := len(ex.Stmts); n > 1000 {
			t.Errorf("%q: %d lines", src, n)
		}
		if strings.Contains(src, "1000000") && (err == nil || !strings.Contains(err.Error(), "more than 1000 lines")) {
			t.Errorf("%q: err %v", src, err)
		}
	}
	f, _ := Parse("s.conf", []byte("~SEQ(i, 9223372036854775805, 9223372036854775807) a $i\n"))
	ex, err := f.Expand()
	if err != nil || len(ex.Stmts) != 3 || ex.Stmts[2].Arg(1) != "9223372036854775807" {
		t.Fatalf("edge of int64: %v %d", err, len(ex.Stmts))
	}
}
