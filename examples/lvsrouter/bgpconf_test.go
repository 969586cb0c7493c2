package main

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lvskit/lvskit/examples/lvsrouter/internal/bgpwire"
	"github.com/lvskit/lvskit/keepalivedconf"
)

// TestParseBGPFull reads a file using every keyword and checks each one's
// value lands where the speaker reads it.
func TestParseBGPFull(t *testing.T) {
	c, err := ParseBGPFile("testdata/bgp/full.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := &BGPConfig{
		LocalAS: 65001, RouterID: netip.MustParseAddr("10.0.0.11"),
		Neighbors: []BGPNeighbor{
			{Address: netip.MustParseAddr("10.0.0.1"), RemoteAS: 65000, Port: 179,
				LocalAddress: netip.MustParseAddr("10.0.0.11"),
				HoldTime:     9 * time.Second, KeepaliveInterval: 3 * time.Second, ConnectRetry: 2 * time.Second,
				Password: "s3cret",
				BFD:      BGPBFD{Enabled: true, MinRx: 100 * time.Millisecond, MinTx: 150 * time.Millisecond, Multiplier: 5, Passive: true, Multihop: true}},
			{Address: netip.MustParseAddr("2001:db8::1"), RemoteAS: 65000, Port: 179,
				HoldTime: 90 * time.Second, KeepaliveInterval: 30 * time.Second, ConnectRetry: 5 * time.Second,
				BFD: BGPBFD{Enabled: true}},
		},
		Announce:    []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8:100::10")},
		AnnounceAny: true,
		Communities: []uint32{65000<<16 | 100, 0xFFFFFF01},
		MED:         10, HasMED: true,
		DrainTime: 1500 * time.Millisecond, WithdrawTimeout: 3 * time.Second,
		VIPInterface: "lo", SloppyTCP: true, SloppySCTP: true,
	}
	if d := cmp.Diff(want, c, cmpopts.IgnoreUnexported(BGPConfig{}), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	a := c.attrs()
	if got := a.communities(); !cmp.Equal(got, c.Communities) {
		t.Errorf("attrs communities %v, want %v", got, c.Communities)
	}
}

// TestParseBGPDefaults: a minimal file announces every VIP, does not
// listen, and has the documented timers.
func TestParseBGPDefaults(t *testing.T) {
	c, err := ParseBGPFile("testdata/bgp/minimal.conf")
	if err != nil {
		t.Fatal(err)
	}
	n := c.Neighbors[0]
	if !c.AnnounceAll || c.ListenPort != 0 || c.DrainTime != 2*time.Second || c.WithdrawTimeout != 5*time.Second ||
		n.HoldTime != 90*time.Second || n.KeepaliveInterval != 30*time.Second || n.Port != 179 || c.HasMED || c.VIPInterface != "" {
		t.Errorf("defaults: %+v", c)
	}
}

// TestParseBGPRefusesWithPlace: unknown keywords and bad values are
// refused, each with its file:line:col, all in one error list.
func TestParseBGPRefusesWithPlace(t *testing.T) {
	_, err := ParseBGPFile("testdata/bgp/bad.conf")
	var l keepalivedconf.ErrorList
	if !errors.As(err, &l) {
		t.Fatalf("error %v is not an ErrorList", err)
	}
	want := []string{
		`testdata/bgp/bad.conf:3:1: bgp: unknown keyword "bfd": not supported`,
		`testdata/bgp/bad.conf:6:15: bgp: hold_time must be 0 or at least 3 seconds (RFC 4271)`,
		`testdata/bgp/bad.conf:7:5: bgp: neighbor: unknown keyword "multihop": not supported`,
		`testdata/bgp/bad.conf:9:16: bgp: min_rx "0": want an integer from 1 to 60000`,
		`testdata/bgp/bad.conf:10:9: bgp: bfd: unknown keyword "echo": not supported`,
	}
	if d := cmp.Diff(want, strings.Split(err.Error(), "\n")); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

func TestParseBGPErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"no as", "router_id 1.2.3.4\nneighbor 1.1.1.1 { remote_as 1 }\n", "2:1: bgp: local_as is required"},
		{"router id v6", "local_as 1\nrouter_id ::1\nneighbor 1.1.1.1 { remote_as 1 }\n", "2:11: bgp: router_id must be an IPv4 address"},
		{"no neighbor", "local_as 1\nrouter_id 1.2.3.4\n", "2:1: bgp: at least one neighbor is required"},
		{"no remote as", "local_as 1\nrouter_id 1.2.3.4\nneighbor 1.1.1.1 {\n port 180\n}\n", "3:1: bgp: neighbor 1.1.1.1: remote_as is required"},
		{"dup neighbor", "local_as 1\nrouter_id 1.2.3.4\nneighbor 1.1.1.1 { remote_as 1 }\nneighbor 1.1.1.1 { remote_as 2 }\n", "4:10: bgp: neighbor 1.1.1.1 given twice"},
		{"bad as", "local_as 0\nrouter_id 1.2.3.4\nneighbor 1.1.1.1 { remote_as 1 }\n", `1:10: bgp: local_as "0": want an integer from 1 to 4294967295`},
		{"dup key", "local_as 1\nlocal_as 2\nrouter_id 1.2.3.4\nneighbor 1.1.1.1 { remote_as 1 }\n", "2:1: bgp: local_as given twice (first at x.conf:1:1)"},
		{"announce all and addr", "local_as 1\nrouter_id 1.2.3.4\nneighbor 1.1.1.1 { remote_as 1 }\nannounce all 1.2.3.4\n", "4:10: bgp: announce all excludes other announce addresses"},
		{"bad community", "local_as 1\nrouter_id 1.2.3.4\nneighbor 1.1.1.1 { remote_as 1 }\ncommunity 70000:1\n", `4:11: bgp: community "70000:1"`},
		{"next hop addr", "local_as 1\nrouter_id 1.2.3.4\nneighbor 1.1.1.1 { remote_as 1 }\nnext_hop 1.2.3.4\n", `4:10: bgp: next_hop "1.2.3.4" is not supported`},
		{"keepalive >= hold", "local_as 1\nrouter_id 1.2.3.4\nneighbor 1.1.1.1 {\n remote_as 1\n hold_time 3\n keepalive_interval 3\n}\n", "6:2: bgp: keepalive_interval must be shorter than hold_time"},
		{"flag value", "local_as 1\nrouter_id 1.2.3.4\nneighbor 1.1.1.1 { remote_as 1 }\nsloppy_tcp 1\n", "4:12: bgp: sloppy_tcp takes no value"},
		{"block on leaf", "local_as 1 {\n}\nrouter_id 1.2.3.4\nneighbor 1.1.1.1 { remote_as 1 }\n", "1:1: bgp: local_as takes no block"},
		{"family", "local_as 1\nrouter_id 1.2.3.4\nneighbor 1.1.1.1 {\n remote_as 1\n local_address ::1\n}\n", "5:16: bgp: local_address ::1 is not of neighbor 1.1.1.1's family"},
		{"define", "$X=1\nlocal_as 1\nrouter_id 1.2.3.4\nneighbor 1.1.1.1 { remote_as 1 }\n", "1:1: bgp: definitions, ~SEQ and @ conditions are not supported"},
		{"bfd value", "local_as 1\nrouter_id 1.2.3.4\nneighbor 1.1.1.1 {\n remote_as 1\n bfd yes\n}\n", "5:6: bgp: bfd takes no value"},
		{"bfd dup", "local_as 1\nrouter_id 1.2.3.4\nneighbor 1.1.1.1 {\n remote_as 1\n bfd {\n  passive\n  passive\n }\n}\n", "7:3: bgp: bfd: passive given twice"},
		{"bfd block in block", "local_as 1\nrouter_id 1.2.3.4\nneighbor 1.1.1.1 {\n remote_as 1\n bfd {\n  min_tx 5 {\n  }\n }\n}\n", "6:3: bgp: bfd: min_tx takes no block"},
		{"syntax", "local_as 1\nrouter_id 1.2.3.4\nneighbor 1.1.1.1 { remote_as 1\n", "x.conf:3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseBGP("x.conf", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestBGPAnnounceMustBeAVirtualServer: an announce address without a
// virtual_server is refused at load with its place, as -t and start see it.
func TestBGPAnnounceMustBeAVirtualServer(t *testing.T) {
	dir := t.TempDir()
	kconf := filepath.Join(dir, "k.conf")
	if err := os.WriteFile(kconf, []byte("virtual_server 192.0.2.10 80 {\n protocol TCP\n real_server 10.1.0.1 80 {\n }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bconf := filepath.Join(dir, "bgp.conf")
	if err := os.WriteFile(bconf, []byte("local_as 1\nrouter_id 1.2.3.4\nneighbor 1.1.1.1 { remote_as 1 }\nannounce 192.0.2.10 192.0.2.11\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func(old string) { bgpFile = old }(bgpFile)
	bgpFile = bconf
	_, _, err := load(kconf, anyInterface)
	if err == nil || !strings.Contains(err.Error(), bconf+":4:21: bgp: announce 192.0.2.11: no virtual_server has this address") {
		t.Fatalf("load: %v", err)
	}
	var stderr strings.Builder
	if code := run([]string{"-t", "-f", kconf, "--bgp", bconf}, &strings.Builder{}, &stderr); code != exitConfigTest {
		t.Errorf("-t exit %d, want %d (%s)", code, exitConfigTest, stderr.String())
	}
	if err := os.WriteFile(bconf, []byte("local_as 1\nrouter_id 1.2.3.4\nneighbor 1.1.1.1 { remote_as 1 }\nannounce 192.0.2.10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, _, err := load(kconf, anyInterface)
	if err != nil || p.BGP == nil || len(p.BGP.Announce) != 1 {
		t.Fatalf("load: %v %+v", err, p)
	}
}

// FuzzParseBGP: any input parses or fails with an ErrorList whose every
// element has a place; never a panic.
func FuzzParseBGP(f *testing.F) {
	seeds, err := filepath.Glob("testdata/bgp/*.conf")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseBGP("f.conf", data)
		if err != nil {
			var l keepalivedconf.ErrorList
			if !errors.As(err, &l) {
				t.Fatalf("error %v is not an ErrorList", err)
			}
			for _, e := range l {
				if e.Pos.Line < 1 {
					t.Fatalf("error without a line: %v", e)
				}
			}
			return
		}
		if c.LocalAS == 0 || !c.RouterID.Is4() || len(c.Neighbors) == 0 {
			t.Fatalf("accepted an incomplete file: %+v", c)
		}
		// What the speaker is sent for it (its side: gobgpspeaker's
		// FuzzPath).
		var b bytes.Buffer
		a := c.attrs().wire()
		q := bgpwire.Request{V: bgpwire.Version, Op: bgpwire.OpAnnounce, Prefix: netip.PrefixFrom(c.RouterID, 32), Attrs: &a}
		if err := bgpwire.Write(&b, q); err != nil {
			t.Fatal(err)
		}
		if _, err := bgpwire.DecodeRequest(bytes.TrimSpace(b.Bytes())); err != nil {
			t.Fatal(err)
		}
	})
}

// TestBGPRefusedWithVRRPOnly: -P runs no checkers, which decide what BGP
// announces, so --bgp with -P is refused naming both.
func TestBGPRefusedWithVRRPOnly(t *testing.T) {
	_, err := parseArgs([]string{"-P", "--bgp", "x.conf"})
	if err == nil || !strings.Contains(err.Error(), "--bgp not supported with -P") {
		t.Errorf("parseArgs: %v", err)
	}
	o, err := parseArgs([]string{"-C", "--bgp=x.conf"})
	if err != nil || o.BGPFile != "x.conf" {
		t.Errorf("parseArgs -C --bgp: %v %+v", err, o)
	}
}
