package fwmark

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/internal/testenv"
)

// The seed (sections 3.4.2 and 3.5.3.2) writes these commands by hand; the
// renderer must produce them from seedRules, with the VIP filled in.
func TestIptablesCommandsMatchSeed(t *testing.T) {
	got, err := IptablesCommands(seedRules())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"iptables -t mangle -A PREROUTING -p tcp -d 192.168.76.24/32 -m multiport --dports 80,443 -j MARK --set-mark 80",
		"iptables -t mangle -A PREROUTING -p tcp -d 192.168.76.24/32 --dport 21 -j MARK --set-mark 21",
		"iptables -t mangle -A PREROUTING -p tcp -d 192.168.76.24/32 --dport 10000:20000 -j MARK --set-mark 21",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
}

func TestIptablesIPv6AndMultiportSplit(t *testing.T) {
	var ports []PortRange
	for p := uint16(1); p <= 14; p++ {
		ports = append(ports, Port(p))
	}
	ports = append(ports, PortRange{100, 200}, Port(300))
	rs := Rules{{Protocol: UDP, Dst: netip.MustParsePrefix("fd00::10/128"), Ports: ports, Mark: 0x50}}
	got, err := IptablesCommands(rs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ip6tables -t mangle -A PREROUTING -p udp -d fd00::10/128 -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14 -j MARK --set-mark 80",
		"ip6tables -t mangle -A PREROUTING -p udp -d fd00::10/128 -m multiport --dports 100:200,300 -j MARK --set-mark 80",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
	v4 := must(IptablesRestore(rs, IPv4))
	if v4 != "" {
		t.Errorf("IPv4 restore of IPv6-only rules = %q", v4)
	}
}

func TestFirewalldMatchesSeed(t *testing.T) {
	rs := seedRules()[:1]
	got, err := FirewalldRichRules(rs, &FirewalldConfig{Permanent: true})
	if err != nil {
		t.Fatal(err)
	}
	// Section 3.4.1, with the closing quote the seed's first line lacks.
	want := []string{
		`firewall-cmd --add-rich-rule='rule family="ipv4" destination address="192.168.76.24/32" port port="80" protocol="tcp" mark set="80"' --permanent`,
		`firewall-cmd --add-rich-rule='rule family="ipv4" destination address="192.168.76.24/32" port port="443" protocol="tcp" mark set="80"' --permanent`,
		`firewall-cmd --reload`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
	got = must(FirewalldRichRules(Rules{{Protocol: SCTP, Dst: netip.MustParsePrefix("fd00::/64"), Mark: 3}}, &FirewalldConfig{Zone: "public"}))
	want = []string{`firewall-cmd --zone=public --add-rich-rule='rule family="ipv6" destination address="fd00::/64" protocol value="sctp" mark set="3"'`}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
	got = must(FirewalldDirect(seedRules()[2:], &FirewalldConfig{Permanent: true}))
	want = []string{
		"firewall-cmd --permanent --direct --add-rule ipv4 mangle PREROUTING 0 -p tcp -d 192.168.76.24/32 --dport 10000:20000 -j MARK --set-mark 21",
		"firewall-cmd --reload",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
}

func TestNftTextGolden(t *testing.T) {
	rs := append(seedRules(),
		Rule{Protocol: UDP, Dst: netip.MustParsePrefix("fd00::/64"), Ports: []PortRange{Port(53)}, Mark: 53},
		Rule{Protocol: SCTP, Dst: netip.MustParsePrefix("10.1.0.0/25"), Mark: 9},
	)
	got, err := NftText(rs, "")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "seed.nft", got)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s differs (UPDATE_GOLDEN=1 rewrites):\n%s", path, d)
	}
}

// nft -c checks a script against the kernel's and nft's grammar without
// applying it; it needs no root.
func TestNftTextPassesNftCheck(t *testing.T) {
	nft := testenv.NeedTool(t, "nft")
	rs := append(seedRules(),
		Rule{Protocol: UDP, Dst: netip.MustParsePrefix("fd00::/64"), Ports: []PortRange{Port(53), {1000, 1010}}, Mark: 53},
		Rule{Protocol: SCTP, Dst: netip.MustParsePrefix("10.1.0.0/25"), Mark: 0xffffffff},
	)
	text, err := NftText(rs, "lvskit_test")
	if err != nil {
		t.Fatal(err)
	}
	nftCheck(t, nft, text)
}

func nftCheck(t *testing.T, nft, text string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "rules.nft")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// nft -c still reads the kernel's ruleset, which needs CAP_NET_ADMIN;
	// without root it gets that in a user and network namespace of its own.
	args := []string{nft, "-c", "-f", f}
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("unshare"); err != nil {
			testenv.NeedRoot(t)
		}
		args = append([]string{"unshare", "-rn"}, args...)
	}
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil && os.Geteuid() != 0 &&
		(strings.HasPrefix(string(out), "unshare:") || strings.Contains(string(out), "Operation not permitted")) {
		testenv.NeedRoot(t) // no unprivileged user namespaces, or nft refused in one
	}
	if err != nil {
		t.Fatalf("nft -c -f rejects:\n%s\n%s", text, out)
	}
}

// TestFirewalldNilConfig: a nil *FirewalldConfig means runtime rules in the
// default zone.
func TestFirewalldNilConfig(t *testing.T) {
	nilCfg := must(FirewalldRichRules(seedRules()[:1], nil))
	zero := must(FirewalldRichRules(seedRules()[:1], &FirewalldConfig{}))
	if len(nilCfg) == 0 || strings.Join(nilCfg, "\n") != strings.Join(zero, "\n") || strings.Contains(nilCfg[0], "--permanent") {
		t.Errorf("nil config: %q, zero config: %q", nilCfg, zero)
	}
}
