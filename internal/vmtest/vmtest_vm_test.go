//go:build vm

package vmtest_test

import (
	"context"
	"fmt"
	"github.com/lvskit/lvskit/internal/frr"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// TestVMIPVSVersion opens the IPVS generic-netlink family in the guest and
// reads the version the kernel reports (IPVS_CMD_GET_INFO).
func TestVMIPVSVersion(t *testing.T) {
	testenv.NeedVM(t)
	c, err := genetlink.Dial(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fam, err := c.GetFamily("IPVS")
	if err != nil {
		t.Fatalf("IPVS family: %v", err)
	}
	const cmdGetInfo, attrVersion, attrConnTabSize = 15, 1, 2
	msgs, err := c.Execute(genetlink.Message{Header: genetlink.Header{Command: cmdGetInfo, Version: fam.Version}},
		fam.ID, netlink.Request)
	if err != nil {
		t.Fatalf("GET_INFO: %v", err)
	}
	if len(msgs) != 1 {
		t.Fatalf("GET_INFO: %d replies", len(msgs))
	}
	ad, err := netlink.NewAttributeDecoder(msgs[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	var version, tab uint32
	for ad.Next() {
		switch ad.Type() {
		case attrVersion:
			version = ad.Uint32()
		case attrConnTabSize:
			tab = ad.Uint32()
		}
	}
	if err := ad.Err(); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%d.%d.%d", version>>16, version>>8&0xff, version&0xff)
	if got != "1.2.1" {
		t.Errorf("IPVS version %s, want 1.2.1", got)
	}
	if tab == 0 {
		t.Error("connection table size 0")
	}
	t.Logf("IPVS %s, connection table size %d", got, tab)
}

// TestVMTools checks that the host tools copied into the guest run there,
// and that every scheduler module is loaded.
func TestVMTools(t *testing.T) {
	testenv.NeedVM(t)
	out, err := exec.Command("ipvsadm", "-A", "-t", "10.0.0.1:80", "-s", "wlc").CombinedOutput()
	if err != nil {
		t.Fatalf("ipvsadm -A: %v: %s", err, out)
	}
	out, err = exec.Command("ipvsadm", "-Ln").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "TCP  10.0.0.1:80 wlc") {
		t.Fatalf("ipvsadm -Ln: %v: %s", err, out)
	}
	exec.Command("ipvsadm", "-C").Run()
	mods, _ := os.ReadFile("/proc/modules")
	for _, s := range []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"} {
		if !strings.Contains(string(mods), "ip_vs_"+s+" ") {
			t.Errorf("scheduler module ip_vs_%s not loaded", s)
		}
	}
	if out, err := exec.Command("nft", "list", "ruleset").CombinedOutput(); err != nil {
		t.Errorf("nft: %v: %s", err, out)
	}
}

// TestVMNetns builds a namespace topology inside the guest, as VM tests of
// IPVS with real servers do.
func TestVMNetns(t *testing.T) {
	testenv.NeedVM(t)
	a := netns.New(t)
	out, err := a.Command(t.Context(), "ip", "-o", "link", "show", "lo").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "UP") {
		t.Fatalf("lo in a guest namespace: %v: %s", err, out)
	}
}

// TestVMFailurePropagates fails on purpose when LVSKIT_VM_FAIL=1, to show
// that the guest's exit status reaches `go test` (see the Makefile's
// check-vm-fails target).
func TestVMFailurePropagates(t *testing.T) {
	testenv.NeedVM(t)
	if os.Getenv("LVSKIT_VM_FAIL") == "1" {
		t.Fatal("deliberate failure (LVSKIT_VM_FAIL=1)")
	}
}

// TestVMFRR runs two FRR routers (zebra + bgpd) in guest namespaces: b
// announces a prefix over eBGP and a's zebra installs it in a's kernel,
// which shows the daemons, their libraries and run-time directories made
// it into the guest.
func TestVMFRR(t *testing.T) {
	testenv.NeedVM(t)
	lan := netns.NewSwitch(t)
	a, b := netns.New(t), netns.New(t)
	lan.Connect(a, "eth0", netip.MustParsePrefix("10.0.0.1/24"))
	lan.Connect(b, "eth0", netip.MustParsePrefix("10.0.0.2/24"))
	conf := func(as, peer, peerAS int, extra string) string {
		return fmt.Sprintf(`log stdout
router bgp %d
 bgp router-id 10.0.0.%d
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.0.0.%d remote-as %d
 neighbor 10.0.0.%d timers 1 3
 neighbor 10.0.0.%d timers connect 1
 address-family ipv4 unicast
%s exit-address-family
`, as, as-64999, peer, peerAS, peer, peer, extra)
	}
	ra := frr.Start(t, a, conf(65000, 2, 65001, ""))
	frr.Start(t, b, conf(65001, 1, 65000, "  network 192.0.2.0/24\n"))
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	p := netip.MustParsePrefix("192.0.2.0/24")
	start := time.Now()
	if _, _, err := ra.WaitNextHops(ctx, p, []netip.Addr{netip.MustParseAddr("10.0.0.2")}); err != nil {
		out, _ := ra.VTY(t.Context(), "show bgp summary")
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("route learnt over BGP %v after the daemons started", time.Since(start).Round(time.Millisecond))
	out, err := a.Command(t.Context(), "ip", "route", "show", p.String()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "via 10.0.0.2") || !strings.Contains(string(out), "bgp") {
		t.Fatalf("kernel route in a: %v: %q", err, out)
	}
}
