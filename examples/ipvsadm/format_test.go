package main

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lvskit/lvskit/ipvs"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// listState is a state with every field ipvsadm prints.
func listState() []ipvs.Service {
	return []ipvs.Service{
		{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80"), Scheduler: "wlc", Netmask: 0xffffffff,
			Stats: ipvs.Stats{Conns: 123456789, InPkts: 99999999, OutPkts: 100000000, InBytes: 1234567890123, OutBytes: 123456789012345678},
			Destinations: []ipvs.Destination{
				{Addr: netip.MustParseAddrPort("10.1.0.2:8080"), Forward: ipvs.Masquerade, Weight: 1, ActiveConns: 3, InactiveConns: 4,
					UpperThreshold: 100, LowerThreshold: 50, PersistentConns: 2, Stats: ipvs.Stats{Conns: 5, CPS: 1, InPPS: 2, OutPPS: 3, InBPS: 400000000, OutBPS: 5}},
				{Addr: netip.MustParseAddrPort("10.1.0.1:8080"), Forward: ipvs.Route, Weight: 0},
				{Addr: netip.MustParseAddrPort("10.1.0.1:80"), Forward: ipvs.Tunnel, Weight: 2, TunnelType: ipvs.TunnelGUE, TunnelPort: 6080, TunnelFlags: ipvs.TunnelChecksum},
				{Addr: netip.MustParseAddrPort("10.1.0.3:80"), Forward: ipvs.Tunnel, Weight: 2, TunnelType: ipvs.TunnelGRE, TunnelFlags: ipvs.TunnelRemoteChecksum},
				{Addr: netip.MustParseAddrPort("10.1.0.4:80"), Forward: ipvs.Tunnel, Weight: 2},
				{Addr: netip.MustParseAddrPort("10.1.0.5:80"), Forward: ipvs.Local, Weight: 9},
			}},
		{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("200.0.0.1:443"), Scheduler: "sh", Flags: ipvs.FlagSHFallback | ipvs.FlagSHPort | ipvs.FlagPersistent,
			Timeout: 300 * time.Second, Netmask: 0xffffff00},
		{Protocol: ipvs.UDP, Addr: netip.MustParseAddrPort("10.0.0.1:53"), Scheduler: "rr", Flags: ipvs.FlagOnePacket | ipvs.FlagPersistent,
			Timeout: 60 * time.Second, Netmask: 0xffffffff, PersistenceEngine: "sip"},
		{Protocol: ipvs.SCTP, Addr: netip.MustParseAddrPort("10.0.0.2:9"), Scheduler: "mh", Flags: ipvs.FlagMHPort, Netmask: 0xffffffff},
		{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("[2001:db8::1]:80"), Scheduler: "lc", Flags: ipvs.FlagPersistent, Timeout: 360 * time.Second, Netmask: 64,
			Destinations: []ipvs.Destination{{Addr: netip.MustParseAddrPort("[2001:db8::10]:80"), Forward: ipvs.Route, Weight: 1}}},
		{Family: ipvs.IPv4, FWMark: 5, Scheduler: "rr", Netmask: 0xffffffff, Flags: ipvs.SchedFlag3,
			Destinations: []ipvs.Destination{{Addr: netip.MustParseAddrPort("10.1.0.9:0"), Forward: ipvs.Route, Weight: 1}}},
		{Family: ipvs.IPv6, FWMark: 5, Scheduler: "rr", Netmask: 128},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s mismatch:\n--- got\n%s--- want\n%s", name, got, want)
	}
}

func TestWriteListGolden(t *testing.T) {
	info := ipvs.Info{Version: 0x010201, ConnTableSize: 4096}
	for _, c := range []struct {
		name string
		o    listOptions
	}{
		{"list", listOptions{}},
		{"list-stats", listOptions{stats: true}},
		{"list-stats-exact", listOptions{stats: true, exact: true}},
		{"list-rate", listOptions{rate: true}},
		{"list-thresholds", listOptions{thresholds: true}},
		{"list-persistent-conn", listOptions{persistentConn: true}},
		{"list-tun-info", listOptions{tunnelInfo: true}},
		{"list-nosort", listOptions{noSort: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeList(&b, info, listState(), c.o); err != nil {
				t.Fatal(err)
			}
			golden(t, c.name, b.Bytes())
		})
	}
	var b bytes.Buffer
	if err := writeRules(&b, listState(), listOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "save", b.Bytes())
}

func TestLargeNum(t *testing.T) {
	for _, c := range []struct {
		v     uint64
		exact bool
		want  string
	}{
		{0, false, "        0"},
		{99999999, false, " 99999999"},
		{100000000, false, "  100000K"},
		{999999999, false, "  999999K"},
		{1000000000, false, "    1000M"},
		{99999999999, false, "   99999M"},
		{100000000000, false, "     100G"},
		{100000000000000, false, "     100T"},
		{12345678, true, " 12345678"},
		{123456789, true, " 123456789"},
	} {
		if got := largeNum(c.v, c.exact); got != c.want {
			t.Errorf("largeNum(%d, %v) = %q, want %q", c.v, c.exact, got, c.want)
		}
	}
}

func TestSortLikeLibipvs(t *testing.T) {
	// libipvs subtracts unsigned addresses and reads the result as int:
	// 200.0.0.1 - 10.0.0.1 overflows to a negative number, so 200.0.0.1
	// sorts first.
	svcs := []ipvs.Service{
		{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80")},
		{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("200.0.0.1:80")},
		{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.1:22")},
		{Protocol: ipvs.UDP, Addr: netip.MustParseAddrPort("1.0.0.1:80")},
		{Family: ipvs.IPv4, FWMark: 2},
		{Family: ipvs.IPv4, FWMark: 1},
	}
	list := []*ipvs.Service{&svcs[0], &svcs[1], &svcs[2], &svcs[3], &svcs[4], &svcs[5]}
	msort(list, cmpServices)
	var got []string
	for _, s := range list {
		got = append(got, s.String())
	}
	want := []string{"TCP 200.0.0.1:80", "TCP 10.0.0.1:22", "TCP 10.0.0.1:80", "UDP 1.0.0.1:80", "FWM 1", "FWM 2"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %q, want %q", got, want)
		}
	}
}
