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
	in := func(args ...string) (int, string, string) { return runIn(ns, args...) }
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

func TestRouterAndRealServer(t *testing.T) {
	testenv.NeedRoot(t)
	ns := netns.New(t)
	in := func(args ...string) (int, string, string) { return runIn(ns, args...) }
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"router", "--dry-run", "--nonlocal-bind"}, "net.ipv4.ip_forward = 0\nnet.ipv6.conf.all.forwarding = 0\nnet.ipv4.ip_nonlocal_bind = 0\nnet.ipv6.ip_nonlocal_bind = 0\n"},
		{[]string{"router", "--family", "ipv4"}, "sysctl net.ipv4.ip_forward: 0 -> 1\n"},
		{[]string{"router", "--family", "ipv4"}, "nothing to change\n"},
		{[]string{"realserver", "--method", "sysctl", "--vip", "10.0.0.100", "--iface", "lo"}, "address lo 10.0.0.100/32: (none) -> present\nsysctl net/ipv4/conf/lo/arp_ignore: 0 -> 1\nsysctl net/ipv4/conf/lo/arp_announce: 0 -> 2\n"},
		{[]string{"realserver", "--method", "redirect", "--vip", "10.0.0.100", "--service", "tcp:80"}, "nft table inet lvskit_dr: (none) -> 1 rules\n"},
		{[]string{"realserver", "--method", "redirect", "--vip", "10.0.0.100", "--service", "tcp:80", "--remove"}, "removed: true\n"},
		{[]string{"local", "--marks", "90", "--route-table", "90", "--family", "ipv4"}, "rule IPv4 fwmark 90 lookup 90 priority 100: (none) -> present\nroute local 0.0.0.0/0 dev lo table 90: (none) -> present\n"},
		{[]string{"local", "--marks", "90", "--route-table", "90", "--family", "ipv4"}, "nothing to change\n"},
	}
	for _, s := range steps {
		code, out, errs := in(s.args...)
		if code != 0 || out != s.want {
			t.Fatalf("fwmarkctl %v: exit %d, stderr %q, output:\n%s\nwant:\n%s", s.args, code, errs, out, s.want)
		}
	}
}

// runIn runs the CLI on a thread inside ns.
func runIn(ns *netns.NS, args ...string) (int, string, string) {
	var code int
	var out, errs string
	ns.Do(func() error { code, out, errs = runCLI(args...); return nil })
	return code, out, errs
}
