//go:build netns

package fwmark

import (
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
)

// iptables-restore --test parses every rule and asks the kernel side
// (nf_tables through iptables-nft) whether it would load, without
// committing. It needs root; it runs in a fresh network namespace so that it
// cannot touch the host's tables even if --test were ignored.
func TestIptablesRestoreTest(t *testing.T) {
	testenv.NeedRoot(t)
	unshare := testenv.NeedTool(t, "unshare")
	rs := append(seedRules(),
		Rule{Protocol: UDP, Dst: netip.MustParsePrefix("fd00::/64"), Ports: []PortRange{Port(53), {1000, 1010}, Port(7)}, Mark: 53},
		Rule{Protocol: SCTP, Dst: netip.MustParsePrefix("10.1.0.0/25"), Mark: 0xffffffff},
	)
	for _, c := range []struct {
		fam  Family
		tool string
	}{{IPv4, "iptables-restore"}, {IPv6, "ip6tables-restore"}} {
		testenv.NeedTool(t, c.tool)
		text, err := IptablesRestore(rs, c.fam)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(text, "*mangle\n") {
			t.Fatalf("%s text:\n%s", c.fam, text)
		}
		cmd := exec.Command(unshare, "-n", c.tool, "--test", "--noflush")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s --test rejects:\n%s\n%s", c.tool, text, out)
		}
	}
	// And a broken line is caught, so the check above means something.
	cmd := exec.Command(unshare, "-n", "iptables-restore", "--test", "--noflush")
	cmd.Stdin = strings.NewReader("*mangle\n-A PREROUTING -p tcp --dport 99999 -j MARK --set-mark 1\nCOMMIT\n")
	if err := cmd.Run(); err == nil {
		t.Fatal("iptables-restore --test accepted a bad port")
	}
}
