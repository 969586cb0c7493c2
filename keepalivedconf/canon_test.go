package keepalivedconf

import (
	"os"
	"testing"
)

func TestFormatCanonical(t *testing.T) {
	src := "# head comment\n\n\nglobal_defs {\n\n   router_id x   # rid\n\tnotification_email { a@b  c@d }\n\n}\n" +
		"virtual_server 10.0.0.1 80\n# before brace\n{ lb_algo rr\n  real_server 10.0.0.2 80 { weight 1 } ! trailing\n}\n"
	want := "# head comment\n\nglobal_defs {\n    router_id x # rid\n    notification_email {\n        a@b  c@d\n    }\n}\n" +
		"# before brace\nvirtual_server 10.0.0.1 80 {\n    lb_algo rr\n    real_server 10.0.0.2 80 {\n        weight 1\n    } ! trailing\n}\n"
	f, err := Parse("c.conf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(f.FormatCanonical()); got != want {
		t.Fatalf("canonical:\n%s\nwant:\n%s", got, want)
	}
	// canonical form is a fixed point
	f2, _ := Parse("c.conf", []byte(want))
	if got := string(f2.FormatCanonical()); got != want {
		t.Fatalf("not idempotent:\n%s", got)
	}
}

// TestFormatCanonicalKeepsMeaning checks that the canonical form of every
// syntactically valid testdata file expands to the same statements.
func TestFormatCanonicalKeepsMeaning(t *testing.T) {
	for _, path := range confFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(path, data)
		if err != nil {
			continue
		}
		c, err := Parse(path, f.FormatCanonical())
		if err != nil {
			t.Fatalf("%s: canonical form does not parse: %v", path, err)
		}
		e1, _ := f.Expand()
		e2, _ := c.Expand()
		if a, b := words(e1.Stmts), words(e2.Stmts); a != b {
			t.Errorf("%s: canonical form changes meaning:\n%s\n---\n%s", path, a, b)
		}
	}
}

// words prints the statement structure without positions.
func words(list []*Stmt) string {
	out := ""
	for _, s := range list {
		if s.Kind == KindComment {
			continue
		}
		for _, t := range s.Tokens {
			out += t.Value() + " "
		}
		if s.Block != nil {
			out += "{\n" + words(s.Block.Stmts) + "}"
		}
		out += "\n"
	}
	return out
}
