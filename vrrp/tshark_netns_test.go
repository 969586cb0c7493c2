//go:build netns

package vrrp

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
)

// TestTsharkDissectsOurAdverts captures lvskit's adverts in every mode and
// has tshark's VRRP dissector check them: right version, good checksum,
// no expert warnings, TTL / hop limit 255.
func TestTsharkDissectsOurAdverts(t *testing.T) {
	testenv.NeedTool(t, "tshark")
	type mode struct {
		name    string
		version uint8
		ipv6    bool
		unicast bool
		pass    string
		dialect ChecksumMode
	}
	for _, m := range []mode{
		{name: "v2-ipv4-multicast", version: 2},
		{name: "v2-ipv4-PASS", version: 2, pass: "secret"},
		{name: "v2-ipv4-unicast", version: 2, unicast: true},
		{name: "v3-ipv4-multicast", version: 3},
		{name: "v3-ipv4-message-only", version: 3, dialect: ChecksumMessageOnly},
		{name: "v3-ipv4-unicast", version: 3, unicast: true},
		{name: "v3-ipv6-multicast", version: 3, ipv6: true},
		{name: "v3-ipv6-unicast", version: 3, ipv6: true, unicast: true},
	} {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			l := newLAN(t, 2)
			ivl := 100 * time.Millisecond
			if m.version == 2 {
				ivl = time.Second
			}
			cfg := Config{Name: "VI_1", Interface: "eth0", VRID: 42, Version: m.version, Priority: 255, Interval: ivl,
				VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.77.0.100/32")}}, Source: l.v4(0, 24).Addr(), Checksum: m.dialect}
			if m.ipv6 {
				cfg.VIPs[0].Prefix, cfg.Source = netip.MustParsePrefix("fd00:77::100/128"), l.ll(0)
			}
			if m.unicast {
				cfg.Peers = []netip.Addr{l.v4(1, 24).Addr()}
				if m.ipv6 {
					cfg.Peers = []netip.Addr{l.ll(1)}
				}
			}
			if m.pass != "" {
				cfg.AuthType, cfg.AuthPass = AuthSimple, m.pass
			}
			args := []string{"-i", "eth0", "-n", "-l", "-c", "3", "-a", "duration:30", "-f", "ip proto 112 or ip6 proto 112",
				"-T", "fields", "-E", "separator=|", "-e", "vrrp.version", "-e", "vrrp.checksum.status", "-e", "_ws.expert",
				"-e", "ip.ttl", "-e", "ipv6.hlim", "-e", "vrrp.auth_string", "-e", "vrrp.ip_addr", "-e", "vrrp.ipv6_addr"}
			if m.dialect == ChecksumMessageOnly {
				args = append(args, "-o", "vrrp.v3_checksum_as_in_v2:TRUE")
			}
			ts := l.hosts[1].Start("tshark", args...)
			waitFor(t, 20*time.Second, "tshark to capture", func() bool { return strings.Contains(ts.Output(), "Capturing on") })
			p := startLvskit(t, l.hosts[0], cfg)
			select {
			case <-ts.Done():
			case <-time.After(40 * time.Second):
				t.Fatalf("tshark did not finish:\n%s", ts.Output())
			}
			p.stop(t)
			var rows int
			for _, line := range strings.Split(ts.Output(), "\n") {
				f := strings.Split(line, "|")
				if len(f) != 8 {
					continue
				}
				rows++
				want := []string{"2", "1", ""}
				if m.version == 3 {
					want[0] = "3"
				}
				if f[0] != want[0] || f[1] != want[1] || f[2] != want[2] {
					t.Errorf("tshark: version %q checksum status %q expert %q; want %q, %q (good), no expert info\n%s", f[0], f[1], f[2], want[0], want[1], line)
				}
				if ttl := f[3] + f[4]; ttl != "255" {
					t.Errorf("TTL/hop limit %q, want 255", ttl)
				}
				if f[5] != m.pass {
					t.Errorf("auth string %q, want %q", f[5], m.pass)
				}
				if got := f[6] + f[7]; got != cfg.VIPs[0].Prefix.Addr().String() {
					t.Errorf("addresses %q, want %v", got, cfg.VIPs[0].Prefix.Addr())
				}
			}
			if rows != 3 {
				t.Fatalf("tshark decoded %d adverts, want 3:\n%s", rows, ts.Output())
			}
		})
	}
}

// TestReceiveBothChecksumDialects: an lvskit router sending the
// message-only VRRPv3 IPv4 checksum (keepalived's v3_checksum_as_v2, which
// the 2.2.7 package lacks) is accepted by one using the pseudo-header,
// and the receiver counts which dialect arrived.
func TestReceiveBothChecksumDialects(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 2)
	a := scLvskit(l, 0, 200)
	a.Checksum = ChecksumMessageOnly
	b := scLvskit(l, 1, 100)
	pb := startLvskit(t, l.hosts[1], b)
	l.waitMaster(scVIP.Addr(), 1, []int{1}, scTimeout, scHold)
	pa := startLvskit(t, l.hosts[0], a) // preempts b, hearing its adverts first
	l.waitMaster(scVIP.Addr(), 0, []int{0, 1}, scTimeout, 5*scIvl)
	pb.stop(t)
	pa.stop(t)
	sb := pb.stats(t, "VI_1")
	if sb.ChecksumMessageOnly == 0 || sb.Drops[DropChecksum] != 0 || sb.State != StateInit {
		t.Fatalf("receiver stats %+v: want message-only adverts counted, no checksum drops", sb)
	}
	sa := pa.stats(t, "VI_1")
	if sa.ChecksumPseudoHeader == 0 || sa.Drops[DropChecksum] != 0 {
		t.Fatalf("sender stats %+v: want the backup's pseudo-header adverts counted", sa)
	}
}
