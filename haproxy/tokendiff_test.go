package haproxy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
)

// noticeWords are argument strings written after ".notice". HAProxy
// prints a lone argument back, and names the second one when there are
// more: together they show how it split and decoded the line.
var noticeWords = []string{
	`"a b"`,
	`a\ b\#c\x41\q`,
	`"${LVSKIT_A}"`,
	`'${LVSKIT_A}'`,
	`$LVSKIT_A`,
	`"$LVSKIT_A.x"`,
	`"pre${LVSKIT_A}post"`,
	`"${LVSKIT_NOPE-def ault}"`,
	`"${LVSKIT_A-unused}"`,
	`"${LVSKIT_NOPE}x"`,
	`"\$x\"y"`,
	`\$x`,
	`'a\ b'`,
	`"a\ b"`,
	`"a"'b'c`,
	`a"b c"d`,
	`"#x"`,
	`a\#b#comment`,
	`"x" #c`,
	`"${LVSKIT_W[*]}"`,
	`"${LVSKIT_W}"`,
	`"${.LINE}"`,
	`"${.SECTION}"`,
	`'it''s'`,
	`"a" ""`,
	`"" "b"`,
	`x\`,
	`\\x\\`,
	`\'q\'`,
	`"it's"`,
	`'say "hi"'`,
	`a	b`,
	`"\x41\x2f"`,
	`'\x41'`,
	`{ a }`,
}

var (
	noticeRE = regexp.MustCompile(`\[NOTICE\].*parsing \[[^:]+:(\d+)\]: '(.*)'\.$`)
	alertRE  = regexp.MustCompile(`\[ALERT\].*parsing \[[^:]+:(\d+)\]: Unexpected argument '(.*)' for '\.notice'`)
)

// TestTokenizerMatchesHAProxy feeds the same lines to HAProxy and to our
// tokenizer, with the same environment.
func TestTokenizerMatchesHAProxy(t *testing.T) {
	bin := testenv.NeedTool(t, "haproxy")
	var b strings.Builder
	b.WriteString("global\n")
	for _, w := range noticeWords {
		b.WriteString("  .notice " + w + "\n")
	}
	cfgText := b.String()
	path := filepath.Join(t.TempDir(), "tok.cfg")
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	envMap := map[string]string{"LVSKIT_A": "alpha", "LVSKIT_W": "one  two"}
	cmd := exec.Command(bin, "-c", "-f", path)
	cmd.Env = append(os.Environ(), "LVSKIT_A=alpha", "LVSKIT_W=one  two")
	out, _ := cmd.CombinedOutput()

	type seen struct {
		kind, val string
	}
	got := map[int]seen{}
	for _, line := range strings.Split(string(out), "\n") {
		if m := noticeRE.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			got[n] = seen{"notice", m[2]}
		} else if m := alertRE.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			got[n] = seen{"extra", m[2]}
		}
	}
	c, err := Parse(path, []byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range c.Global().Lines {
		args, err := c.Args(l, MapEnv(envMap))
		if err != nil {
			t.Errorf("line %d %q: %v", l.Num, l.Text, err)
			continue
		}
		var want seen
		switch {
		case len(args) == 2:
			want = seen{"notice", args[1]}
		case len(args) > 2:
			want = seen{"extra", args[2]}
		}
		if _, ok := got[l.Num]; !ok {
			t.Errorf("%q: haproxy said nothing about line %d", noticeWords[i], l.Num)
		}
		if got[l.Num] != want {
			t.Errorf("%q: haproxy %+v, we %+v (args %q)", noticeWords[i], got[l.Num], want, args)
		}
	}
	if t.Failed() {
		t.Logf("haproxy output:\n%s", out)
	}
}

var errorRE = regexp.MustCompile(`\[ALERT\].*parsing \[[^:]+:(\d+)\]: (.*) at position (\d+):$`)

// TestTokenizerRandomLinesMatchHAProxy generates lines from the pieces
// that matter to the tokenizer and compares, line by line, what HAProxy
// makes of them (value, next argument, or error and its column) with
// ours.
func TestTokenizerRandomLinesMatchHAProxy(t *testing.T) {
	bin := testenv.NeedTool(t, "haproxy")
	pieces := []string{"a", "b", " ", `"`, `'`, `\`, "#", "$", "{", "}", "[*]", "-", "x", "4", "1",
		`\x41`, `\x4`, "${LVSKIT_A}", "${LVSKIT_A[*]}", "${LVSKIT_B-d e}", "${LVSKIT_B}", "$LVSKIT_A", `${.LINE}`,
		`\ `, `\"`, `\'`, `\#`, `\$`, `\\`, "\t"}
	r := rand.New(rand.NewPCG(1, 2))
	var lines []string
	for range 300 {
		var b strings.Builder
		for range 1 + r.IntN(8) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		lines = append(lines, b.String())
	}
	// HAProxy gives up after 50 fatal errors: check 40 lines per file.
	for at := 0; at < len(lines); at += 40 {
		compareNotices(t, bin, lines[at:min(at+40, len(lines))])
	}
}

func compareNotices(t *testing.T, bin string, lines []string) {
	t.Helper()
	var cfg strings.Builder
	cfg.WriteString("global\n")
	for _, l := range lines {
		cfg.WriteString("  .notice " + l + "\n")
	}
	path := filepath.Join(t.TempDir(), "rand.cfg")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", "-f", path)
	cmd.Env = append(os.Environ(), "LVSKIT_A=x  y", "LVSKIT_B=")
	out, _ := cmd.CombinedOutput()
	type verdict struct{ kind, val string }
	got := map[int]verdict{}
	for _, line := range strings.Split(string(out), "\n") {
		if m := noticeRE.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			got[n] = verdict{"notice", m[2]}
		} else if m := alertRE.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			got[n] = verdict{"extra", m[2]}
		} else if m := errorRE.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			got[n] = verdict{"error", m[2] + " at " + m[3]}
		}
	}
	c, err := Parse(path, []byte(cfg.String()))
	if err != nil {
		t.Fatal(err)
	}
	env := MapEnv(map[string]string{"LVSKIT_A": "x  y", "LVSKIT_B": ""})
	for i, l := range c.Global().Lines {
		var want verdict
		args, err := c.Args(l, env)
		var se *SyntaxError
		switch {
		case errors.As(err, &se):
			want = verdict{"error", fmt.Sprintf("%s at %d", se.Msg, se.Col+1)}
		case err != nil:
			t.Fatal(err)
		case len(args) == 1:
			want = verdict{"notice", ""}
		case len(args) == 2:
			want = verdict{"notice", args[1]}
		default:
			want = verdict{"extra", args[2]}
		}
		if got[l.Num] != want {
			t.Errorf("line %q: haproxy %+v, we %+v", lines[i], got[l.Num], want)
		}
	}
}
