package keepalivedconf

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// dumpExpanded prints an expanded tree one statement a line, with the
// origin of each statement.
func dumpExpanded(f *File) string {
	var b strings.Builder
	var rec func(list []*Stmt, depth int)
	rec = func(list []*Stmt, depth int) {
		for _, s := range list {
			if s.Kind == KindComment {
				continue
			}
			b.WriteString(s.Pos.String())
			b.WriteString("\t")
			b.WriteString(strings.Repeat("  ", depth))
			words := make([]string, len(s.Tokens))
			for i, t := range s.Tokens {
				words[i] = t.Value()
			}
			b.WriteString(strings.Join(words, " | "))
			if s.Block != nil {
				b.WriteString(" {")
			}
			b.WriteString("\n")
			if s.Block != nil {
				rec(s.Block.Stmts, depth+1)
				b.WriteString(s.Block.Close.String() + "\t" + strings.Repeat("  ", depth) + "}\n")
			}
		}
	}
	rec(f.Stmts, 0)
	return b.String()
}

func TestExpandGolden(t *testing.T) {
	ins, _ := filepath.Glob("testdata/expand/*.in")
	if len(ins) == 0 {
		t.Fatal("no inputs")
	}
	env := func(name string) (string, bool) {
		if name == "LVS_USER" {
			return "lvs", true
		}
		return "", false
	}
	for _, in := range ins {
		for _, id := range []string{"", "lb1"} {
			golden := strings.TrimSuffix(in, ".in") + ".golden"
			if id != "" {
				golden = strings.TrimSuffix(in, ".in") + "." + id + ".golden"
			}
			pc := &ParseConfig{ConfigID: id, LookupEnv: env}
			raw, err := pc.ParseFile(in)
			if raw == nil {
				t.Fatalf("ParseFile: %v", err)
			}
			ex, err := raw.Expand()
			got := dumpExpanded(ex)
			if err != nil {
				got += "errors:\n" + err.Error() + "\n"
			}
			cfg, err := ex.Config()
			if err != nil {
				got += "config:\n" + err.Error() + "\n"
			}
			if len(cfg.Warnings) > 0 {
				got += "warnings:\n" + cfg.Warnings.Error() + "\n"
			}
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s: expanded view differs from %s:\n%s", in, golden, got)
			}
		}
	}
}
