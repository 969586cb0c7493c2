package fwmark

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/internal/testenv"
)

// fakeProc builds a sysctl tree of plain files.
func fakeProc(t *testing.T, kv map[string]string) Sysctl {
	t.Helper()
	root := t.TempDir()
	for k, v := range kv {
		p := filepath.Join(root, k)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Sysctl{Root: root}
}

func TestSysctlReportsAndUndoesOnlyRealChanges(t *testing.T) {
	ctx := context.Background()
	s := fakeProc(t, map[string]string{
		"net/ipv4/ip_forward":                 "0",
		"net/ipv6/conf/all/forwarding":        "1",
		"net/ipv4/ip_nonlocal_bind":           "0",
		"net/ipv6/ip_nonlocal_bind":           "0",
		"net/ipv4/conf/eth0.100/arp_ignore":   "0",
		"net/ipv4/conf/eth0.100/arp_announce": "2",
	})
	fwd, err := s.EnableForwarding(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := fwd.String(); got != "sysctl net.ipv4.ip_forward: 0 -> 1\n" {
		t.Errorf("EnableForwarding changes:\n%s", got)
	}
	nl, err := s.EnableNonlocalBind(ctx, IPv4)
	if err != nil || len(nl) != 1 {
		t.Fatalf("EnableNonlocalBind = %v, %v", nl, err)
	}
	arp, err := s.SetARPForDR(ctx, "eth0.100")
	if err != nil {
		t.Fatal(err)
	}
	if got := arp.String(); got != "sysctl net/ipv4/conf/eth0.100/arp_ignore: 0 -> 1\n" {
		t.Errorf("SetARPForDR changes:\n%s", got)
	}
	for k, want := range map[string]string{"net.ipv4.ip_forward": "1", "net.ipv4.ip_nonlocal_bind": "1", "net/ipv4/conf/eth0.100/arp_ignore": "1", "net.ipv6.ip_nonlocal_bind": "0"} {
		if v, err := s.Get(k); err != nil || v != want {
			t.Errorf("%s = %q, %v; want %q", k, v, err, want)
		}
	}
	// Again: nothing to do.
	if again, err := s.EnableForwarding(ctx); err != nil || len(again) != 0 {
		t.Errorf("second EnableForwarding = %v, %v", again, err)
	}
	all := append(append(fwd, nl...), arp...)
	if err := all.Undo(ctx); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"net.ipv4.ip_forward": "0", "net.ipv6.conf.all.forwarding": "1", "net.ipv4.ip_nonlocal_bind": "0", "net/ipv4/conf/eth0.100/arp_ignore": "0", "net/ipv4/conf/eth0.100/arp_announce": "2"} {
		if v := must(s.Get(k)); v != want {
			t.Errorf("after undo %s = %q, want %q", k, v, want)
		}
	}
}

func TestSysctlFailureLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s := fakeProc(t, map[string]string{"net/ipv4/ip_forward": "0"}) // no IPv6 key
	if _, err := s.EnableForwarding(ctx); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
	if v := must(s.Get("net.ipv4.ip_forward")); v != "0" {
		t.Errorf("ip_forward left at %q after a failed call", v)
	}
	if _, err := s.SetARPForDR(ctx, "../x"); err == nil {
		t.Error("path in interface name accepted")
	}
}

var drVIP = netip.MustParseAddr("192.168.76.24")

func TestRealServerRendersSeedCommands(t *testing.T) {
	real := netip.MustParseAddr("192.168.76.11")
	tests := []struct {
		rs   RealServer
		want []string
	}{
		{RealServer{Method: DRARP, VIPs: []netip.Addr{drVIP}, Interface: "eth0", RealIP: real}, []string{
			"arptables -A IN -d 192.168.76.24 -j DROP",
			"arptables -A OUT -s 192.168.76.24 -j mangle --mangle-ip-s 192.168.76.11",
			"ip addr add 192.168.76.24 dev eth0",
		}},
		{RealServer{Method: DRSysctl, VIPs: []netip.Addr{drVIP}, Interface: "eth0"}, []string{
			"ip addr add 192.168.76.24/32 dev lo",
			"echo 1 > /proc/sys/net/ipv4/conf/eth0/arp_ignore",
			"echo 2 > /proc/sys/net/ipv4/conf/eth0/arp_announce",
		}},
		{RealServer{Method: DRRedirect, VIPs: []netip.Addr{drVIP, netip.MustParseAddr("fd00::24")}, Services: []Service{{TCP, 80}, {UDP, 53}}}, []string{
			"iptables -t nat -A PREROUTING -p tcp -d 192.168.76.24 --dport 80 -j REDIRECT",
			"iptables -t nat -A PREROUTING -p udp -d 192.168.76.24 --dport 53 -j REDIRECT",
			"ip6tables -t nat -A PREROUTING -p tcp -d fd00::24 --dport 80 -j REDIRECT",
			"ip6tables -t nat -A PREROUTING -p udp -d fd00::24 --dport 53 -j REDIRECT",
		}},
	}
	for _, tt := range tests {
		got, err := tt.rs.Commands()
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("%s:\n%s", tt.rs.Method, d)
		}
	}
	fw, err := RealServer{Method: DRRedirect, VIPs: []netip.Addr{drVIP}, Services: []Service{{TCP, 80}}}.Firewalld(&FirewalldConfig{Permanent: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"firewall-cmd --permanent --direct --add-rule ipv4 nat PREROUTING 0 -d 192.168.76.24 -p tcp -m tcp --dport 80 -j REDIRECT",
		"firewall-cmd --reload",
	}
	if d := cmp.Diff(want, fw); d != "" {
		t.Error(d)
	}
	conf := must(RealServer{Method: DRSysctl, VIPs: []netip.Addr{drVIP}, Interface: "eth0.7"}.SysctlConf())
	if d := cmp.Diff([]string{"net.ipv4.conf.eth0/7.arp_ignore = 1", "net.ipv4.conf.eth0/7.arp_announce = 2"}, conf); d != "" {
		t.Error(d)
	}
}

func TestRealServerValidate(t *testing.T) {
	v6 := netip.MustParseAddr("fd00::1")
	tests := []struct {
		rs    RealServer
		field string
	}{
		{RealServer{VIPs: []netip.Addr{drVIP}, Interface: "eth0"}, "method"},
		{RealServer{Method: DRSysctl, Interface: "eth0"}, "vips"},
		{RealServer{Method: DRSysctl, VIPs: []netip.Addr{drVIP}}, "interface"},
		{RealServer{Method: DRARP, VIPs: []netip.Addr{v6}, Interface: "eth0", RealIP: drVIP}, "vips[0]"},
		{RealServer{Method: DRARP, VIPs: []netip.Addr{drVIP}, Interface: "eth0"}, "real_ip"},
		{RealServer{Method: DRRedirect, VIPs: []netip.Addr{drVIP}}, "services"},
		{RealServer{Method: DRRedirect, VIPs: []netip.Addr{drVIP}, Services: []Service{{TCP, 0}}}, "services[0]"},
		{RealServer{Method: DRRedirect, VIPs: []netip.Addr{drVIP}, Services: []Service{{7, 1}}}, "services[0]"},
		{RealServer{Method: DRSysctl, VIPs: []netip.Addr{netip.MustParseAddr("::ffff:1.2.3.4")}, Interface: "eth0"}, "vips[0]"},
	}
	for _, tt := range tests {
		err := tt.rs.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%+v: Validate() = %v, want field %s", tt.rs, err, tt.field)
		}
	}
}

func TestRealServerNftTextPassesNftCheck(t *testing.T) {
	nft := testenv.NeedTool(t, "nft")
	for _, rs := range []RealServer{
		{Method: DRARP, VIPs: []netip.Addr{drVIP, netip.MustParseAddr("192.168.76.25")}, Interface: "eth0", RealIP: netip.MustParseAddr("192.168.76.11")},
		{Method: DRRedirect, VIPs: []netip.Addr{drVIP, netip.MustParseAddr("fd00::24")}, Services: []Service{{TCP, 80}, {SCTP, 9}}},
	} {
		text, err := rs.NftText()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "delete table") {
			t.Fatalf("no atomic replace in\n%s", text)
		}
		nftCheck(t, nft, text)
	}
	golden(t, "dr_arp.nft", func() string {
		s := must(RealServer{Method: DRARP, VIPs: []netip.Addr{drVIP}, Interface: "eth0", RealIP: netip.MustParseAddr("192.168.76.11")}.NftText())
		return s
	}())
}
