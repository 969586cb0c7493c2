package ipvs

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// listState is a state with every field ipvsadm prints.
func listState() []Service {
	return []Service{
		{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80"), Scheduler: "wlc", Netmask: 0xffffffff,
			Stats: Stats{Conns: 123456789, InPkts: 99999999, OutPkts: 100000000, InBytes: 1234567890123, OutBytes: 123456789012345678},
			Destinations: []Destination{
				{Addr: netip.MustParseAddrPort("10.1.0.2:8080"), Forward: Masquerade, Weight: 1, ActiveConns: 3, InactiveConns: 4,
					UpperThreshold: 100, LowerThreshold: 50, PersistentConns: 2, Stats: Stats{Conns: 5, CPS: 1, InPPS: 2, OutPPS: 3, InBPS: 400000000, OutBPS: 5}},
				{Addr: netip.MustParseAddrPort("10.1.0.1:8080"), Forward: Route, Weight: 0},
				{Addr: netip.MustParseAddrPort("10.1.0.1:80"), Forward: Tunnel, Weight: 2, TunnelType: TunnelGUE, TunnelPort: 6080, TunnelFlags: TunnelChecksum},
				{Addr: netip.MustParseAddrPort("10.1.0.3:80"), Forward: Tunnel, Weight: 2, TunnelType: TunnelGRE, TunnelFlags: TunnelRemoteChecksum},
				{Addr: netip.MustParseAddrPort("10.1.0.4:80"), Forward: Tunnel, Weight: 2},
				{Addr: netip.MustParseAddrPort("10.1.0.5:80"), Forward: Local, Weight: 9},
			}},
		{Protocol: TCP, Addr: netip.MustParseAddrPort("200.0.0.1:443"), Scheduler: "sh", Flags: FlagSHFallback | FlagSHPort | FlagPersistent,
			Timeout: 300 * time.Second, Netmask: 0xffffff00},
		{Protocol: UDP, Addr: netip.MustParseAddrPort("10.0.0.1:53"), Scheduler: "rr", Flags: FlagOnePacket | FlagPersistent,
			Timeout: 60 * time.Second, Netmask: 0xffffffff, PersistenceEngine: "sip"},
		{Protocol: SCTP, Addr: netip.MustParseAddrPort("10.0.0.2:9"), Scheduler: "mh", Flags: FlagMHPort, Netmask: 0xffffffff},
		{Protocol: TCP, Addr: netip.MustParseAddrPort("[2001:db8::1]:80"), Scheduler: "lc", Flags: FlagPersistent, Timeout: 360 * time.Second, Netmask: 64,
			Destinations: []Destination{{Addr: netip.MustParseAddrPort("[2001:db8::10]:80"), Forward: Route, Weight: 1}}},
		{Family: IPv4, FWMark: 5, Scheduler: "rr", Netmask: 0xffffffff, Flags: SchedFlag3,
			Destinations: []Destination{{Addr: netip.MustParseAddrPort("10.1.0.9:0"), Forward: Route, Weight: 1}}},
		{Family: IPv6, FWMark: 5, Scheduler: "rr", Netmask: 128},
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
	info := Info{Version: 0x010201, ConnTableSize: 4096}
	for _, c := range []struct {
		name string
		o    ListOptions
	}{
		{"list", ListOptions{}},
		{"list-stats", ListOptions{Stats: true}},
		{"list-stats-exact", ListOptions{Stats: true, Exact: true}},
		{"list-rate", ListOptions{Rate: true}},
		{"list-thresholds", ListOptions{Thresholds: true}},
		{"list-persistent-conn", ListOptions{PersistentConn: true}},
		{"list-tun-info", ListOptions{TunnelInfo: true}},
		{"list-nosort", ListOptions{NoSort: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteList(&b, info, listState(), c.o); err != nil {
				t.Fatal(err)
			}
			golden(t, c.name, b.Bytes())
		})
	}
	var b bytes.Buffer
	if err := WriteRules(&b, listState(), false); err != nil {
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
	svcs := []Service{
		{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80")},
		{Protocol: TCP, Addr: netip.MustParseAddrPort("200.0.0.1:80")},
		{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:22")},
		{Protocol: UDP, Addr: netip.MustParseAddrPort("1.0.0.1:80")},
		{Family: IPv4, FWMark: 2},
		{Family: IPv4, FWMark: 1},
	}
	list := []*Service{&svcs[0], &svcs[1], &svcs[2], &svcs[3], &svcs[4], &svcs[5]}
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
