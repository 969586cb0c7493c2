//go:build netns

package vrrp

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/vishvananda/netlink"
)

// TestInteropVMAC: lvskit as master with use_vmac semantics against a
// keepalived backup, for IPv4 and IPv6. The VIP sits on a private macvlan
// with the virtual MAC (00:00:5e:00:01:VRID, IPv6 00:00:5e:00:02:VRID),
// adverts (and for IPv6 unsolicited NAs with Override) leave from that MAC,
// a client's neighbour entry for the VIP names it and the client talks to
// the VIP through it, and a graceful stop hands over to keepalived and
// removes the macvlan.
func TestInteropVMAC(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		name := "ipv4"
		if v6 {
			name = "ipv6"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testVMAC(t, v6)
		})
	}
}

func testVMAC(t *testing.T, v6 bool) {
	l := newLAN(t, 3) // 0 lvskit, 1 keepalived, 2 client + observer
	vipP := scVIP
	cfg := scLvskit(l, 0, 200)
	ka := scKeepalived(100)
	fam := netlink.FAMILY_V4
	if v6 {
		vipP = netip.MustParsePrefix("fd00:77::100/128")
		cfg.VIPs[0].Prefix, cfg.Source, ka.vip = vipP, l.ll(0), vipP
		fam = netlink.FAMILY_V6
	}
	vip := vipP.Addr()
	obs := newObserver(t, l.hosts[2])
	serveName(t, l.hosts[0], "lvskit")
	serveName(t, l.hosts[1], "keepalived")
	startKeepalived(t, l.hosts[1], kaConf("ka", ka))
	cfg.VMAC = true
	p := startLvskit(t, l.hosts[0], cfg)
	l.waitMaster(vip, 0, []int{0, 1}, scTimeout, scHold)

	h := l.hosts[0].Handle()
	vm, err := h.LinkByName("vrrp.51")
	if err != nil {
		t.Fatal(err)
	}
	mac := VirtualMAC(51, v6)
	if mv, ok := vm.(*netlink.Macvlan); !ok || mv.Mode != netlink.MACVLAN_MODE_PRIVATE || mv.HardwareAddr.String() != mac.String() {
		t.Fatalf("vmac link %+v, want private macvlan with %v", vm, mac)
	}
	addrs, err := h.AddrList(vm, fam)
	if err != nil {
		t.Fatal(err)
	}
	var got []netip.Addr
	for _, a := range addrs {
		ip, _ := netip.AddrFromSlice(a.IP)
		got = append(got, ip.Unmap())
	}
	want := []netip.Addr{vip}
	if v6 { // the advert source, and no address of the kernel's making
		want = append(want, l.ll(0))
	}
	slices.SortFunc(got, netip.Addr.Compare)
	slices.SortFunc(want, netip.Addr.Compare)
	if !slices.Equal(got, want) {
		t.Fatalf("addresses on vrrp.51: %v, want %v", got, want)
	}
	client := l.hosts[2]
	waitFor(t, scTimeout, "client reaches the VIP on lvskit", func() bool { return askName(client, vip) == "lvskit" })
	if got := neighMAC(client, vip); got.String() != mac.String() {
		t.Fatalf("client resolves the VIP to %v, want the virtual MAC %v", got, mac)
	}
	waitFor(t, scTimeout, "an advert from the virtual MAC", func() bool {
		obs.mu.Lock()
		defer obs.mu.Unlock()
		return slices.Contains(obs.advMAC, mac.String()) && (!v6 || slices.Contains(obs.naMAC, mac.String()))
	})
	if v6 {
		obs.mu.Lock()
		n := len(obs.adv[l.ll(0)])
		obs.mu.Unlock()
		if n == 0 {
			t.Fatalf("no advert from %v", l.ll(0))
		}
	}

	p.stop(t)
	l.waitMaster(vip, 1, []int{0, 1}, scTimeout, scHold)
	if _, err := h.LinkByName("vrrp.51"); err == nil {
		t.Fatal("vrrp.51 left behind")
	}
	waitFor(t, scTimeout, "client reaches the VIP on keepalived", func() bool { return askName(client, vip) == "keepalived" })
}
