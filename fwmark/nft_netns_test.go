//go:build netns

package fwmark

import (
	"context"
	"net/netip"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// listed normalises `nft list` output to NftTable's spelling: marks in
// decimal, counters without values.
func listed(s string) string {
	s = regexp.MustCompile(`counter packets \d+ bytes \d+`).ReplaceAllString(s, "counter")
	return regexp.MustCompile(`mark set (0x[0-9a-f]+)`).ReplaceAllStringFunc(s, func(m string) string {
		v, _ := strconv.ParseUint(m[len("mark set "):], 0, 32)
		return "mark set " + strconv.FormatUint(v, 10)
	})
}

func TestApplyInstallsWhatNftTextSays(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "nft")
	ns := netns.New(t)
	ctx := context.Background()

	// Someone else's table must survive everything we do.
	inNS(t, ns, "nft", "add", "table", "ip", "other")
	before := inNS(t, ns, "nft", "list", "ruleset")

	tab, err := NewTable(&TableConfig{NetNS: ns.Path()})
	if err != nil {
		t.Fatal(err)
	}
	rs := append(seedRules(),
		Rule{Protocol: UDP, Dst: netip.MustParsePrefix("fd00::/64"), Ports: []PortRange{Port(53)}, Mark: 53},
		Rule{Protocol: SCTP, Dst: netip.MustParsePrefix("10.1.0.0/25"), Mark: 0xffffffff},
		Rule{Protocol: TCP, Dst: netip.MustParsePrefix("fd00:1::7/128"), Ports: []PortRange{{1, 65535}}, Mark: 7},
	)
	changed, err := tab.Apply(ctx, rs)
	if err != nil || !changed {
		t.Fatalf("Apply = %v, %v; want true, nil", changed, err)
	}
	got := listed(inNS(t, ns, "nft", "list", "table", "inet", "lvskit"))
	if d := cmp.Diff(NftTable(rs, ""), got); d != "" {
		t.Errorf("nft list differs from NftTable (-want +got):\n%s", d)
	}

	// Same state again: nothing changes.
	if changed, err := tab.Apply(ctx, rs); err != nil || changed {
		t.Fatalf("re-Apply = %v, %v; want false, nil", changed, err)
	}
	entries, err := tab.Show(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 7 || entries[3].Rule.Ports[0] != (PortRange{10000, 20000}) || entries[3].Rule.Mark != 21 {
		t.Fatalf("Show = %+v", entries)
	}

	// A different state replaces the old one entirely.
	if changed, err := tab.Apply(ctx, rs[:1]); err != nil || !changed {
		t.Fatalf("Apply(smaller) = %v, %v", changed, err)
	}
	got = listed(inNS(t, ns, "nft", "list", "table", "inet", "lvskit"))
	if d := cmp.Diff(NftTable(rs[:1], ""), got); d != "" {
		t.Errorf("after shrink (-want +got):\n%s", d)
	}

	// Bad input never reaches the kernel.
	if _, err := tab.Apply(ctx, Rules{{Protocol: TCP, Dst: vip, Mark: 0}}); err == nil {
		t.Fatal("mark 0 applied")
	}
	if d := cmp.Diff(NftTable(rs[:1], ""), listed(inNS(t, ns, "nft", "list", "table", "inet", "lvskit"))); d != "" {
		t.Errorf("rejected Apply changed the table:\n%s", d)
	}

	if changed, err := tab.Remove(ctx); err != nil || !changed {
		t.Fatalf("Remove = %v, %v", changed, err)
	}
	if changed, err := tab.Remove(ctx); err != nil || changed {
		t.Fatalf("second Remove = %v, %v", changed, err)
	}
	if after := inNS(t, ns, "nft", "list", "ruleset"); after != before {
		t.Errorf("ruleset after Remove:\n%s\nbefore:\n%s", after, before)
	}
}

// inNS runs a command inside the namespace and returns its combined output.
func inNS(t *testing.T, ns *netns.NS, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := ns.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v in %s: %v\n%s", name, args, ns.Name, err, out)
	}
	return string(out)
}

// A large table goes in as one batch: the socket buffers must be sized to
// it (the kernel answers EMSGSIZE otherwise).
func TestApplyLargeTable(t *testing.T) {
	testenv.NeedRoot(t)
	ns := netns.New(t)
	ctx := context.Background()
	tab, err := NewTable(&TableConfig{NetNS: ns.Path()})
	if err != nil {
		t.Fatal(err)
	}
	rs := manyRules(2000, 1)
	if changed, err := tab.Apply(ctx, rs); err != nil || !changed {
		t.Fatalf("Apply = %v, %v", changed, err)
	}
	if changed, err := tab.Apply(ctx, rs); err != nil || changed {
		t.Fatalf("re-Apply = %v, %v", changed, err)
	}
	entries, err := tab.Show(ctx)
	if err != nil || len(entries) != 4000 {
		t.Fatalf("Show: %d entries, %v", len(entries), err)
	}
	if e := entries[3999].Rule; e.Mark != 2000 || e.Ports[0] != Port(443) {
		t.Errorf("last entry %s", e)
	}
	if _, err := tab.Remove(ctx); err != nil {
		t.Fatal(err)
	}
}
