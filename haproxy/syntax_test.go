package haproxy

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tricky exercises every kind of line the tree keeps.
const tricky = "# leading comment\r\n" +
	"\n" +
	"global   # trailing\n" +
	"\tmaxconn 100\n" +
	"    .if defined(HAPROXY_MWORKER)\n" +
	"    .notice \"master-worker ${.LINE}\"\n" +
	"    .endif\n" +
	"\n" +
	"defaults base from other\n" +
	"  timeout client 1m # one minute\n" +
	"frontend fe\n" +
	"  bind \"${IP}\":80,:443 ssl crt '/etc/ssl/my cert.pem'\n" +
	"  use_backend api if { path_beg /api } # api\n" +
	"  default_backend app\n" +
	"backend app\n" +
	"  server a 10.0.0.1:80 check\n" +
	"  bad \"unterminated\n" +
	"unknown-section x\n" +
	"  foo bar\n" +
	"crt-store s\n" +
	"program p\n" +
	"  command true\n" +
	"no-trailing-newline"

func TestRoundTrip(t *testing.T) {
	inputs := map[string]string{"tricky": tricky, "empty": "", "nl": "\n", "spaces": "   \n\t\n", "crlf": "global\r\n  daemon\r\n"}
	files, _ := filepath.Glob("testdata/*.cfg")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[f] = string(b)
	}
	for name, in := range inputs {
		c, err := Parse(name, []byte(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out := c.Format(); !bytes.Equal(out, []byte(in)) {
			t.Errorf("%s: round trip differs:\n%q\n%q", name, in, out)
		}
	}
}

func TestTree(t *testing.T) {
	c, err := Parse("t.cfg", []byte(tricky))
	if err != nil {
		t.Fatal(err)
	}
	var kws []string
	for _, s := range c.Sections {
		kws = append(kws, s.Keyword()+":"+s.Name())
	}
	want := []string{":", "global:", "defaults:base", "frontend:fe", "backend:app", "crt-store:s", "program:p"}
	if len(kws) != len(want) {
		t.Fatalf("sections = %q, want %q", kws, want)
	}
	for i := range want {
		if kws[i] != want[i] {
			t.Fatalf("sections = %q, want %q", kws, want)
		}
	}
	g := c.Sections[1]
	if g.Header.CommentText() != "# trailing" {
		t.Errorf("header comment = %q", g.Header.CommentText())
	}
	kinds := []LineKind{DirectiveLine, CondLine, DiagLine, CondLine, BlankLine}
	for i, k := range kinds {
		if g.Lines[i].Kind != k {
			t.Errorf("global line %d kind = %d, want %d", i, g.Lines[i].Kind, k)
		}
	}
	if c.Sections[0].Lines[0].Kind != CommentLine || c.Sections[0].Lines[0].EOL != "\r\n" {
		t.Errorf("preamble comment: %+v", c.Sections[0].Lines[0])
	}
	fe := c.Frontend("fe")
	b := fe.Binds()[0]
	if b.Address != "${IP}:80,:443" || !b.SSL || b.Crt != "/etc/ssl/my cert.pem" {
		t.Errorf("bind = %+v", b)
	}
	u := fe.UseBackends()
	if len(u) != 1 || u[0].Backend != "api" || u[0].Cond != "if { path_beg /api }" {
		t.Errorf("use_backend = %+v", u)
	}
	bad := c.Backend("app").Lines[1]
	if bad.Err == nil || bad.Err.Msg != msgOf(ErrUnmatchedQuote) {
		t.Errorf("unterminated quote not flagged: %+v", bad)
	}
	// The unknown section keyword's lines stay in the backend, as HAProxy
	// reads them (and rejects them).
	if l := c.Backend("app").Lines[2]; l.Keyword() != "unknown-section" {
		t.Errorf("line after bad = %q", l.Text)
	}
	last := c.Sections[len(c.Sections)-1].Lines[1]
	if last.Text != "no-trailing-newline" || last.EOL != "" {
		t.Errorf("last line = %+v", last)
	}
}

func TestEditsTouchOnlyTheirLines(t *testing.T) {
	c, err := Parse("t.cfg", []byte(tricky))
	if err != nil {
		t.Fatal(err)
	}
	c.Frontend("fe").SetDefaultBackend("other")
	c.Global().SetMaxconn(2000)
	d := c.Defaults()[0]
	d.SetTimeout("client", 60e9) // unchanged value: 1m == 60s
	d.SetTimeout("server", 30e9)
	got := string(c.Format())
	want := "# leading comment\r\n" +
		"\n" +
		"global   # trailing\n" +
		"\tmaxconn 2000\n" +
		"    .if defined(HAPROXY_MWORKER)\n" +
		"    .notice \"master-worker ${.LINE}\"\n" +
		"    .endif\n" +
		"\n" +
		"defaults base from other\n" +
		"  timeout client 1m # one minute\n" +
		"  timeout server 30s\n" +
		"frontend fe\n" +
		"  bind \"${IP}\":80,:443 ssl crt '/etc/ssl/my cert.pem'\n" +
		"  use_backend api if { path_beg /api } # api\n" +
		"  default_backend other\n" +
		"backend app\n" +
		"  server a 10.0.0.1:80 check\n" +
		"  bad \"unterminated\n" +
		"unknown-section x\n" +
		"  foo bar\n" +
		"crt-store s\n" +
		"program p\n" +
		"  command true\n" +
		"no-trailing-newline"
	if got != want {
		t.Errorf("after edits:\n%s\nwant:\n%s", got, want)
	}
}

func TestParseWithExtraSections(t *testing.T) {
	in := "global\n  daemon\nacme le\n  directory https://acme.example/\nbackend b\n"
	c, err := ParseWith("t.cfg", []byte(in), &ParserConfig{Sections: []string{"acme"}})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Section("acme", "le")
	if s == nil || len(s.Lines) != 1 || s.Lines[0].Keyword() != "directory" {
		t.Fatalf("acme section = %+v", s)
	}
	s.Header.SetValues("acme", "le2")
	if c.Section("acme", "le2") == nil || s.Header.Kind != SectionLine {
		t.Fatal("renamed header lost its kind")
	}
	if got := string(c.Format()); got != strings.Replace(in, "acme le", "acme le2", 1) {
		t.Fatalf("got %q", got)
	}
	// Without the option the lines stay in global, as HAProxy 2.6 reads them.
	c, _ = Parse("t.cfg", []byte(in))
	if c.Section("acme", "le") != nil || len(c.Global().Lines) != 3 {
		t.Fatal("acme recognised without the option")
	}
}

func TestDeleteWithComments(t *testing.T) {
	in := "global\n  daemon\n\n# the app backend\nbackend app\n  # primary\n  server a 1.2.3.4:80\n\n  # spare\n  # (old box)\n  server b 1.2.3.5:80\n  server c 1.2.3.6:80\n# api\nbackend api\n"
	c := mustParse(t, []byte(in))
	be := c.Backend("app")
	if got := be.LeadingComments(be.Lines[len(be.Lines)-3]); len(got) != 2 {
		t.Fatalf("leading comments of b = %d", len(got))
	}
	if !be.DeleteServer("b") || !be.DeleteServer("a") {
		t.Fatal("DeleteServer")
	}
	want := "global\n  daemon\n\n# the app backend\nbackend app\n\n  server c 1.2.3.6:80\n# api\nbackend api\n"
	if got := string(c.Format()); got != want {
		t.Fatalf("after deletes:\n%q\nwant\n%q", got, want)
	}
	if !c.DeleteSection(c.Backend("app").Section) {
		t.Fatal("DeleteSection")
	}
	if got := string(c.Format()); got != "global\n  daemon\n\n# api\nbackend api\n" {
		t.Fatalf("after DeleteSection: %q", got)
	}
}
