package haproxy

import (
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
