package keepalivedconf

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// sameParse checks that parsing src in up to four pieces (pieces as
// small as a few bytes) gives the tree, positions and diagnostics that
// one piece gives, and that the one-pass path for plain lines agrees with
// the general one.
func sameParse(t *testing.T, src string) {
	t.Helper()
	seq := parseIn("p.conf", src, 1, 0)
	par := parseIn("p.conf", src, 4, 2)
	gen := newParser("p.conf", src)
	gen.general = true
	gen.run()
	if d := cmp.Diff(dumpTree(gen.top), dumpTree(seq.top)); d != "" {
		t.Fatalf("plain lines parse differently (-general +plain):\n%s", d)
	}
	if d := cmp.Diff([]Error(gen.d.list), []Error(seq.d.list), cmpopts.EquateErrors()); d != "" {
		t.Fatalf("plain lines report differently (-general +plain):\n%s", d)
	}
	if d := cmp.Diff(dumpTree(seq.top), dumpTree(par.top)); d != "" {
		t.Fatalf("pieces parse differently (-one +pieces):\n%s", d)
	}
	if d := cmp.Diff([]Error(seq.d.list), []Error(par.d.list), cmpopts.EquateErrors()); d != "" {
		t.Fatalf("pieces report differently (-one +pieces):\n%s", d)
	}
}

// sameConfig checks that decoding virtual servers on four goroutines gives
// the Config and diagnostics of one.
func sameConfig(t *testing.T, f *File) {
	t.Helper()
	seq, serr := f.config(1)
	par, perr := f.config(4)
	opt := []cmp.Option{cmpopts.IgnoreUnexported(Config{}), cmpopts.EquateErrors(), cmp.Comparer(func(a, b *Stmt) bool { return a == b || a != nil && b != nil && a.Pos == b.Pos && a.Text() == b.Text() }), cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{}, netip.Prefix{})}
	if d := cmp.Diff([]Error(seq.Warnings), []Error(par.Warnings), opt...); d != "" {
		t.Fatalf("parallel decode warns differently (-one +four):\n%s", d)
	}
	opt = append(opt, cmpopts.IgnoreFields(Config{}, "Warnings"))
	if d := cmp.Diff(seq, par, opt...); d != "" {
		t.Fatalf("parallel decode differs (-one +four):\n%s", d)
	}
	var sl, pl ErrorList
	errors.As(serr, &sl)
	errors.As(perr, &pl)
	if d := cmp.Diff([]Error(sl), []Error(pl), opt...); d != "" {
		t.Fatalf("parallel decode reports differently (-one +four):\n%s", d)
	}
}

func TestParallelMatchesSequential(t *testing.T) {
	srcs := map[string]string{
		"large":          string(largeConfig(100)),
		"open at cut":    "a {\n}\nb {\n  c {\n}\nd 1\n}\ne 2\n}\nf {\n}\n",
		"unclosed":       "a {\n}\nb {\n}\nc {\n  d {\n}\n",
		"extra close":    "a {\n}\n}\n}\nb 1\n}\nc {\n}\n",
		"brace on later": "virtual_server 10.0.0.1 80\n}\n{\n  lb_algo rr\n}\n",
		"continued def":  "$A=x \\\n}\n}\nvirtual_server 10.0.0.1 80 {\n}\n",
		"errors":         "virtual_server 10.0.0.1 {\n  delay_loop -1\n}\nvirtual_server 10.0.0.2 99999 {\n  real_server x 1 {\n  }\n}\nvirtual_server fwmark 0 {\n}\n",
	}
	for _, path := range confFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		srcs[path] = string(data)
	}
	for name, src := range srcs {
		t.Run(name, func(t *testing.T) {
			sameParse(t, src)
			f, _ := Parse("p.conf", []byte(src))
			sameConfig(t, f)
		})
	}
}

// dumpTree lists every statement and block with all its fields, one line
// each, to compare trees without deep recursion.
func dumpTree(list []*Stmt) []string {
	var out []string
	walk(list, func(s *Stmt) {
		out = append(out, fmt.Sprintf("%v %d %q %q %q %q %v %d", s.Pos, s.Kind, s.Lead, s.Cond, s.Trail, s.Text(), s.Tokens, s.form))
		if b := s.Block; b != nil {
			out = append(out, fmt.Sprintf("block %v %v %q %q %q %q %v %d", b.Open, b.Close, b.OpenLead, b.OpenTrail, b.CloseLead, b.CloseTrail, b.Unclosed, len(b.Stmts)))
		}
	})
	return out
}
