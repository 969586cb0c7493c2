//go:build netns

package main

import (
	"context"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// The CLI works in whatever namespace it runs in; the test runs it in a
// throwaway one.
func TestApplyShowRemove(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "nft")
	ns := netns.New(t)
	in := func(args ...string) (int, string, string) {
		var code int
		var out, errs string
		ns.Do(func() error { code, out, errs = runCLI(args...); return nil })
		return code, out, errs
	}
	list := func() string {
		out, err := ns.Command(context.Background(), "nft", "list", "ruleset").CombinedOutput()
		if err != nil {
			t.Fatalf("nft: %v\n%s", err, out)
		}
		return string(out)
	}
	before := list()
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"show"}, "table inet lvskit: no marks installed\n"},
		{[]string{"apply", "-f", "testdata/seed.conf"}, "table inet lvskit: replaced with 3 rules\n"},
		{[]string{"apply", "-f", "testdata/seed.conf"}, "table inet lvskit: already up to date\n"},
		{[]string{"show"}, "mark 21 tcp 192.168.76.24/32 10000-20000"},
		{[]string{"remove"}, "table inet lvskit: removed\n"},
		{[]string{"remove"}, "table inet lvskit: not present\n"},
	}
	for _, s := range steps {
		code, out, errs := in(s.args...)
		if code != 0 || !strings.Contains(out, s.want) {
			t.Fatalf("fwmarkctl %v: exit %d, stderr %q, output:\n%s\nwant %q", s.args, code, errs, out, s.want)
		}
	}
	if after := list(); after != before {
		t.Errorf("ruleset after remove:\n%s\nbefore:\n%s", after, before)
	}
}
