package keepalivedconf

import (
	"strings"
	"testing"
)

// TestStmtSourceForms checks that statements whose words are one blank
// apart (printed from their tokens) and the others (printed from the
// hidden source text) format back byte for byte, and that an edit, or
// tokens changed by hand, prints the tokens.
func TestStmtSourceForms(t *testing.T) {
	src := "a b c\nx\t\ty\n@lb1  kw  v\n@lb1 kw v\n@lb2   \nvirtual_server 10.0.0.1 80 {\n  real_server  10.0.0.2 80 {\n  }\n}\nq \"a  b\"   c # note\n"
	f, err := Parse("f.conf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(f.Format()); got != src {
		t.Fatalf("round trip:\n%q\n%q", got, src)
	}
	want := map[string]uint8{"a b c": formJoined, "x\t\ty": formHidden, "@lb1  kw  v": formHidden, "@lb1 kw v": formJoined,
		"@lb2": formHidden, "virtual_server 10.0.0.1 80": formJoined, "real_server  10.0.0.2 80": formHidden, `q "a  b"   c`: formHidden}
	walk(f.Stmts, func(s *Stmt) {
		if s.Kind == KindComment {
			return
		}
		form, ok := want[s.Text()]
		if !ok || form != s.form {
			t.Errorf("%s: %q has form %d, want %d (%v)", s.Pos, s.Text(), s.form, form, ok)
		}
	})
	// tokens changed by hand: cut, or replaced in place
	s := f.Stmts[1]
	s.Tokens = s.Tokens[:1]
	if got := s.Text(); got != "x" {
		t.Errorf("cut tokens print %q", got)
	}
	f.Stmts[0].Tokens[2].Text = "d"
	if got := f.Stmts[0].Text(); got != "a b d" {
		t.Errorf("joined statement with a token replaced prints %q", got)
	}
	rs := f.Stmts[5].Block.Stmts[0]
	rs.SetArgs("10.0.0.3", "80")
	want2 := "a b d\nx\n"
	if got := string(f.Format()); got[:len(want2)] != want2 {
		t.Errorf("edited file starts %q", got[:len(want2)])
	}
	if got := rs.Text(); got != "real_server 10.0.0.3 80" {
		t.Errorf("SetArgs prints %q", got)
	}
}

// TestStmtHiddenTextInPlace checks that the source text of statements
// whose words are not one blank apart goes right after their words in the
// token arena, not into a copy of them.
func TestStmtHiddenTextInPlace(t *testing.T) {
	src := strings.Repeat("virtual_server\t10.0.0.1  80 {\n    lb_algo   wrr\n    real_server 10.0.0.2 80 {\n        weight\t1\n    }\n}\n", 200)
	p := newParser("f.conf", src)
	p.toks = make([]Token, 0, len(src)) // one chunk, to count what is used
	p.run()
	var words int
	walk(p.top, func(s *Stmt) {
		words += len(s.Tokens)
		if s.form == formHidden {
			words++
		}
	})
	if got := string(appendList(nil, p.top)); got != src {
		t.Fatal("round trip differs")
	}
	// each statement's words and hidden text, nothing more
	if used := len(p.toks); used != words {
		t.Errorf("token arena holds %d tokens for %d words and texts", used, words)
	}
}
