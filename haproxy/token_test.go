package haproxy

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestTokenize(t *testing.T) {
	env := MapEnv(map[string]string{"IP": "10.0.0.1", "LIST": "a  b c", "EMPTY": "", "SP": " x "})
	tests := []struct {
		in   string
		env  Env
		want []string
	}{
		{"  server a 1.2.3.4:80 check", nil, []string{"server", "a", "1.2.3.4:80", "check"}},
		{"bind :80 # comment", nil, []string{"bind", ":80"}},
		{"bind :80#comment", nil, []string{"bind", ":80"}},
		{`a\ b c`, nil, []string{"a b", "c"}},
		{`a\#b`, nil, []string{"a#b"}},
		{`a\\b`, nil, []string{`a\b`}},
		{`a\'b\"c`, nil, []string{`a'b"c`}},
		{`\t\n\r`, nil, []string{"\t\n\r"}},
		{`\x41\x4a\x6b`, nil, []string{"AJk"}},
		{`a\qb`, nil, []string{`a\qb`}},
		{`"a b" 'c d'`, nil, []string{"a b", "c d"}},
		{`"a"'b'c`, nil, []string{"abc"}},
		{`'a\ b' "a\ b"`, nil, []string{`a\ b`, "a b"}},
		{`"#x" '#y' z`, nil, []string{"#x", "#y", "z"}},
		{`"$IP" '$IP' $IP`, nil, []string{"$IP", "$IP", "$IP"}},
		{`"$IP" '$IP' $IP`, env, []string{"10.0.0.1", "$IP", "$IP"}},
		{`"${IP}:80"`, env, []string{"10.0.0.1:80"}},
		{`"${NOPE-def val}"`, env, []string{"def val"}},
		{`"${IP-def}"`, env, []string{"10.0.0.1"}},
		{`"${NOPE}x"`, env, []string{"x"}},
		{`k "${LIST[*]}" z`, env, []string{"k", "a", "b", "c", "z"}},
		{`k "${LIST}"`, env, []string{"k", "a  b c"}},
		{`k "\$IP"`, env, []string{"k", "$IP"}},
		{`k \$IP`, env, []string{"k", `\$IP`}},
		{`a "" b`, nil, []string{"a", "", "b"}},
		{`a ""`, nil, []string{"a"}},
		{`a "" `, nil, []string{"a", ""}},
		{`a ""#c`, nil, []string{"a"}},
		{"a\rb", nil, []string{"a"}},
		{"a \rb", nil, []string{"a", "b"}},
		{`a\x00b`, nil, []string{"a"}},
		{"", nil, nil},
		{"   # only comment", nil, nil},
	}
	for _, tt := range tests {
		got, err := Tokenize(tt.in, tt.env)
		if err != nil {
			t.Errorf("Tokenize(%q): %v", tt.in, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Tokenize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTokenizeErrors(t *testing.T) {
	tests := []struct {
		in  string
		err error
		col int
	}{
		{`a "b`, ErrUnmatchedQuote, 2},
		{`a 'b`, ErrUnmatchedQuote, 2},
		{`a \x4`, ErrBadHex, 2},
		{`a \xzz`, ErrBadHex, 2},
		{`a "${1X}"`, ErrBadVarName, 5},
		{`a "${X"`, ErrUnmatchedBrace, 4},
		{`a "${X-abc"`, ErrUnmatchedBrace, 4},
		{`a "${X[x]}"`, ErrBadExpand, 6},
	}
	for _, tt := range tests {
		_, err := Tokenize(tt.in, MapEnv(nil))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Tokenize(%q) error = %v, want SyntaxError", tt.in, err)
			continue
		}
		if se.Msg != msgOf(tt.err) || !errors.Is(err, tt.err) || se.Col != tt.col {
			t.Errorf("Tokenize(%q) = %q at %d, want %q at %d", tt.in, se.Msg, se.Col, tt.err, tt.col)
		}
		// The lossless scanner must flag the same lines.
		c, _ := Parse("x", []byte(tt.in))
		if l := c.Lines()[0]; l.Err == nil {
			t.Errorf("Parse(%q): no line error", tt.in)
		}
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, v := range []string{"", "plain", "a b", "#x", `a"b`, "it's", `back\slash`, "$HOME", "tab\tnl\n", "\x01", "a'b c\"$d"} {
		q := Quote(v)
		got, err := Tokenize("k "+q+" z", MapEnv(nil))
		if err != nil || len(got) != 3 || got[1] != v {
			t.Errorf("Quote(%q) = %s reads back as %q, %v", v, q, got, err)
		}
		if v != "" && strings.ContainsAny(v, " #") && q == v {
			t.Errorf("Quote(%q) left it unprotected", v)
		}
	}
}

func TestWordValue(t *testing.T) {
	c, err := Parse("t", []byte(`  server "a b" 'x y':80 ${P} "${P}"`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	l := c.Lines()[0]
	want := []string{"server", "a b", "x y:80", "${P}", "${P}"}
	if got := l.Values(); !slices.Equal(got, want) {
		t.Fatalf("Values = %q, want %q", got, want)
	}
	args, err := l.Args(MapEnv(map[string]string{"P": "8"}), "t", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"server", "a b", "x y:80", "${P}", "8"}; !slices.Equal(args, want) {
		t.Fatalf("Args = %q, want %q", args, want)
	}
}

func TestConfigArgsPseudoVariables(t *testing.T) {
	c, _ := Parse("my.cfg", []byte("global\n  .notice \"${.SECTION} ${.LINE} ${.FILE}\"\nbackend app\n  x \"${.SECTION}\" \"${HOST-h}\"\n"))
	g := c.Global().Lines[0]
	if args, err := c.Args(g, MapEnv(nil)); err != nil || args[1] != "global 2 my.cfg" {
		t.Errorf("global args = %q %v", args, err)
	}
	l := c.Backend("app").Lines[0]
	if args, err := c.Args(l, MapEnv(map[string]string{"HOST": "web"})); err != nil || args[1] != "app" || args[2] != "web" {
		t.Errorf("backend args = %q %v", args, err)
	}
}
