//go:build netns

package fwmark

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/vishvananda/netlink"
)

// observer counts, at the input hook after lvskit's mangle chain, TCP
// packets to each port: all of them, and those that carry the expected
// mark. It is installed with the nft binary, independent of our code.
const observer = `table inet observe {
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport 80 counter comment "80 all"
		tcp dport 80 meta mark 80 counter comment "80 marked"
		tcp dport 443 counter comment "443 all"
		tcp dport 443 meta mark 80 counter comment "443 marked"
		tcp dport 21 counter comment "21 all"
		tcp dport 21 meta mark 21 counter comment "21 marked"
		tcp dport 15000 counter comment "15000 all"
		tcp dport 15000 meta mark 21 counter comment "15000 marked"
		tcp dport 8080 counter comment "8080 all"
		tcp dport 8080 meta mark 0 counter comment "8080 marked"
	}
}
`

var counterRE = regexp.MustCompile(`counter packets (\d+) bytes \d+ comment "([^"]+)"`)

func observed(t *testing.T, ns *netns.NS) map[string]int {
	t.Helper()
	out := inNS(t, ns, "nft", "list", "table", "inet", "observe")
	m := map[string]int{}
	for _, g := range counterRE.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(g[1])
		m[g[2]] = n
	}
	return m
}

// dial opens (or is refused) one TCP connection from inside ns. Either way
// the SYN reached the router; a timeout means it did not.
func dial(t *testing.T, ns *netns.NS, addr netip.AddrPort) {
	t.Helper()
	err := ns.Do(func() error {
		c, err := net.DialTimeout("tcp", addr.String(), 5*time.Second)
		if err == nil {
			return c.Close()
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil
		}
		return err
	})
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
}

// TestMarksRealTraffic applies the seed's marks on a router namespace and
// sends TCP from a client namespace to the VIP: 80 and 443 must carry mark
// 80, 21 and a passive FTP port mark 21, a port outside the set no mark.
func TestMarksRealTraffic(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "nft")
	router, client := netns.New(t), netns.New(t)
	netns.Veth(t, router, "eth0", client, "eth0")
	router.AddAddr("eth0", netip.MustParsePrefix("10.0.0.2/24"), netip.MustParsePrefix("fd00::2/64"))
	client.AddAddr("eth0", netip.MustParsePrefix("10.0.0.1/24"), netip.MustParsePrefix("fd00::1/64"))
	vip4, vip6 := netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("fd00:1::100")
	router.AddAddr("lo", netip.PrefixFrom(vip4, 32), netip.PrefixFrom(vip6, 128))
	for _, r := range []*netlink.Route{
		{Dst: toIPNet(netip.PrefixFrom(vip4, 32)), Gw: net.ParseIP("10.0.0.2")},
		{Dst: toIPNet(netip.PrefixFrom(vip6, 128)), Gw: net.ParseIP("fd00::2")},
	} {
		l, err := client.Handle().LinkByName("eth0")
		if err != nil {
			t.Fatal(err)
		}
		r.LinkIndex = l.Attrs().Index
		if err := client.Handle().RouteAdd(r); err != nil {
			t.Fatalf("route %v: %v", r.Dst, err)
		}
	}
	obs := filepath.Join(t.TempDir(), "observe.nft")
	if err := os.WriteFile(obs, []byte(observer), 0o644); err != nil {
		t.Fatal(err)
	}
	inNS(t, router, "nft", "-f", obs)
	before := inNS(t, router, "nft", "list", "ruleset")

	tab := applyConf(t, router.Path(), `
mark 80 tcp 10.0.0.100 80,443
mark 80 tcp fd00:1::100 80,443
mark 21 tcp 10.0.0.100 21
mark 21 tcp 10.0.0.100 10000-20000
`)
	ctx := context.Background()

	for _, p := range []uint16{80, 443, 21, 15000, 8080} {
		dial(t, client, netip.AddrPortFrom(vip4, p))
	}
	dial(t, client, netip.AddrPortFrom(vip6, 80))
	dial(t, client, netip.AddrPortFrom(vip6, 443))

	got := observed(t, router)
	for _, p := range []string{"80", "443", "21", "15000", "8080"} {
		all, marked := got[p+" all"], got[p+" marked"]
		if all == 0 || all != marked {
			t.Errorf("port %s: %d packets, %d with the expected mark (%v)", p, all, marked, got)
		}
	}
	if got["80 all"] < 2 || got["443 all"] < 2 {
		t.Errorf("IPv6 SYNs not seen: %v", got)
	}

	requireAllCounted(t, tab)

	if changed, err := tab.Remove(ctx); err != nil || !changed {
		t.Fatalf("Remove = %v, %v", changed, err)
	}
	if after := inNS(t, router, "nft", "list", "ruleset"); counterRE.ReplaceAllString(after, "") != counterRE.ReplaceAllString(before, "") {
		t.Errorf("ruleset after Remove:\n%s\nbefore:\n%s", after, before)
	}
}
