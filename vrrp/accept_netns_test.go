//go:build netns

package vrrp

import (
	"net/netip"
	"testing"

	"github.com/google/nftables"
	"github.com/lvskit/lvskit/internal/netns"
)

// TestFilterNonAccept: with FilterNonAccept a master in non-accept mode
// drops traffic to its VIPs (a client cannot reach a TCP listener on the
// VIP, though it reaches the same listener on the host's own address);
// with Accept it reaches it; after a stop the nftables table is gone.
func TestFilterNonAccept(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for _, accept := range []bool{false, true} {
			name := "ipv4"
			if v6 {
				name = "ipv6"
			}
			if accept {
				name += "-accept"
			} else {
				name += "-no-accept"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				testFilterNonAccept(t, v6, accept)
			})
		}
	}
}

func testFilterNonAccept(t *testing.T, v6, accept bool) {
	l := newLAN(t, 2) // 0 lvskit, 1 client
	cfg := scLvskit(l, 0, 200)
	own := l.v4(0, 24).Addr()
	table := "lvskit_vrrp_eth0_51"
	if v6 {
		cfg.VIPs[0].Prefix, cfg.Source = netip.MustParsePrefix("fd00:77::100/128"), l.ll(0)
		own = l.v6(0, 64).Addr()
	}
	cfg.FilterNonAccept, cfg.Accept = true, accept
	vip := cfg.VIPs[0].Prefix.Addr()
	serveName(t, l.hosts[0], "lvskit")
	p := startLvskit(t, l.hosts[0], cfg)
	l.waitMaster(vip, 0, []int{0}, scTimeout, 0)
	p.waitState(t, "VI_1", "MASTER", scTimeout)

	client := l.hosts[1]
	waitFor(t, scTimeout, "client reaches the host's own address", func() bool { return askName(client, own) == "lvskit" })
	if accept {
		if hasTable(t, l.hosts[0], table) {
			t.Fatalf("table %s installed in accept mode", table)
		}
		waitFor(t, scTimeout, "client reaches the VIP", func() bool { return askName(client, vip) == "lvskit" })
	} else {
		if !hasTable(t, l.hosts[0], table) {
			t.Fatalf("no table %s while master in non-accept mode", table)
		}
		if got := askName(client, vip); got != "" {
			t.Fatalf("client reached the VIP (%q) of a non-accept master", got)
		}
	}
	p.stop(t)
	if hasTable(t, l.hosts[0], table) {
		t.Fatalf("table %s left behind after stop", table)
	}
}

// hasTable reports whether an nftables table of that name exists in h.
func hasTable(t *testing.T, h *netns.NS, name string) bool {
	t.Helper()
	var found bool
	err := h.Do(func() error {
		c, err := nftables.New()
		if err != nil {
			return err
		}
		tables, err := c.ListTables()
		for _, tb := range tables {
			found = found || tb.Name == name
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
