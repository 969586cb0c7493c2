//go:build netns

package vrrp

import (
	"slices"
	"testing"

	"github.com/vishvananda/netlink"
)

// TestInteropVMAC: lvskit as master with use_vmac semantics against a
// keepalived backup. The VIP sits on a private macvlan with the virtual
// MAC, adverts leave from that MAC, a client talks to the VIP through it,
// and a graceful stop hands over to keepalived and removes the macvlan.
func TestInteropVMAC(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 3) // 0 lvskit, 1 keepalived, 2 client + observer
	vip := scVIP.Addr()
	obs := newObserver(t, l.hosts[2])
	serveName(t, l.hosts[0], "lvskit")
	serveName(t, l.hosts[1], "keepalived")
	startKeepalived(t, l.hosts[1], kaConf("ka", scKeepalived(100)))
	cfg := scLvskit(l, 0, 200)
	cfg.VMAC = true
	p := startLvskit(t, l.hosts[0], cfg)
	l.waitMaster(vip, 0, []int{0, 1}, scTimeout, scHold)

	h := l.hosts[0].Handle()
	vm, err := h.LinkByName("vrrp.51")
	if err != nil {
		t.Fatal(err)
	}
	mac := VirtualMAC(51, false)
	if mv, ok := vm.(*netlink.Macvlan); !ok || mv.Mode != netlink.MACVLAN_MODE_PRIVATE || mv.HardwareAddr.String() != mac.String() {
		t.Fatalf("vmac link %+v, want private macvlan with %v", vm, mac)
	}
	addrs, err := h.AddrList(vm, netlink.FAMILY_V4)
	if err != nil || len(addrs) != 1 || !addrs[0].IP.Equal(vip.AsSlice()) {
		t.Fatalf("addresses on vrrp.51: %v (%v), want only %v", addrs, err, vip)
	}
	client := l.hosts[2]
	waitFor(t, scTimeout, "client reaches the VIP on lvskit", func() bool { return askName(client, vip) == "lvskit" })
	if got := neighMAC(client, vip); got.String() != mac.String() {
		t.Fatalf("client resolves the VIP to %v, want the virtual MAC %v", got, mac)
	}
	waitFor(t, scTimeout, "an advert from the virtual MAC", func() bool {
		obs.mu.Lock()
		defer obs.mu.Unlock()
		return slices.Contains(obs.advMAC, mac.String())
	})

	p.stop(t)
	l.waitMaster(vip, 1, []int{0, 1}, scTimeout, scHold)
	if _, err := h.LinkByName("vrrp.51"); err == nil {
		t.Fatal("vrrp.51 left behind")
	}
	waitFor(t, scTimeout, "client reaches the VIP on keepalived", func() bool { return askName(client, vip) == "keepalived" })
}
