package ipvs

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
)

// kernelStats encodes a stats nest the way ip_vs_ctl.c does.
func kernelStats(ae *netlink.AttributeEncoder, typ uint16, st Stats, wide bool) {
	ae.Nested(typ, func(n *netlink.AttributeEncoder) error {
		v := []uint64{st.Conns, st.InPkts, st.OutPkts, st.InBytes, st.OutBytes, st.CPS, st.InPPS, st.OutPPS, st.InBPS, st.OutBPS}
		for i, x := range v {
			t := uint16(i + 1)
			if wide || t == statsAttrInBytes || t == statsAttrOutBytes {
				n.Uint64(t, x)
			} else {
				n.Uint32(t, uint32(x))
			}
		}
		return nil
	})
}

// kernelService encodes s as a get-service reply's service nest.
func kernelService(t testing.TB, s Service) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	encodeService(ae, &s)
	kernelStats(ae, svcAttrStats, s.Stats, false)
	kernelStats(ae, svcAttrStats64, s.Stats, true)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kernelDest encodes d as a get-dest reply's destination nest.
func kernelDest(t testing.TB, d Destination) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	encodeDest(ae, &d)
	ae.Uint32(destAttrActiveConns, d.ActiveConns)
	ae.Uint32(destAttrInactConns, d.InactiveConns)
	ae.Uint32(destAttrPersistConns, d.PersistentConns)
	kernelStats(ae, destAttrStats, d.Stats, false)
	kernelStats(ae, destAttrStats64, d.Stats, true)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var sampleStats = Stats{Conns: 1 << 33, InPkts: 2, OutPkts: 3, InBytes: 1 << 40, OutBytes: 5, CPS: 6, InPPS: 7, OutPPS: 8, InBPS: 9, OutBPS: 10}

func TestServiceRoundTrip(t *testing.T) {
	cases := []Service{
		{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80"), Scheduler: "rr", Flags: FlagHashed,
			Netmask: 0xffffffff, Stats: sampleStats},
		{Protocol: UDP, Addr: netip.MustParseAddrPort("[2001:db8::1]:53"), Scheduler: "sh",
			Flags: FlagPersistent | FlagHashed | FlagSHFallback | FlagSHPort, Timeout: 300 * time.Second, Netmask: 64},
		{Protocol: SCTP, Addr: netip.MustParseAddrPort("192.0.2.9:5060"), Scheduler: "wlc",
			Flags: FlagPersistent | FlagOnePacket, Timeout: 10 * time.Second, Netmask: 0xffffff00, PersistenceEngine: "sip"},
		{Family: IPv4, FWMark: 7, Scheduler: "mh", Flags: FlagMHPort, Netmask: 0xffffffff},
		{Family: IPv6, FWMark: 0xffffffff, Scheduler: "lblcr", Netmask: 128},
	}
	for _, want := range cases {
		t.Run(want.String(), func(t *testing.T) {
			got, err := DecodeService(kernelService(t, want))
			if err != nil {
				t.Fatal(err)
			}
			want.Family = want.Key().Family
			want.Flags &^= FlagHashed
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
				t.Errorf("service mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServiceLegacyStatsOnly(t *testing.T) {
	// A kernel without stats64 (before 4.1) sends only the 32-bit nest.
	s := Service{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80"), Scheduler: "rr"}
	ae := netlink.NewAttributeEncoder()
	encodeService(ae, &s)
	kernelStats(ae, svcAttrStats, Stats{Conns: 5, InBytes: 1 << 35}, false)
	b := mustEncode(t, ae)
	got, err := DecodeService(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Stats.Conns != 5 || got.Stats.InBytes != 1<<35 {
		t.Errorf("stats = %+v", got.Stats)
	}
}

func TestDestinationRoundTrip(t *testing.T) {
	cases := []struct {
		d   Destination
		fam Family
	}{
		{Destination{Addr: netip.MustParseAddrPort("10.1.0.1:8080"), Forward: Masquerade, Weight: 3,
			UpperThreshold: 100, LowerThreshold: 10, ActiveConns: 4, InactiveConns: 5, PersistentConns: 6, Stats: sampleStats}, IPv4},
		{Destination{Addr: netip.MustParseAddrPort("[2001:db8::2]:0"), Forward: Tunnel, Weight: 1,
			TunnelType: TunnelGUE, TunnelPort: 6080, TunnelFlags: TunnelRemoteChecksum}, IPv4},
		{Destination{Addr: netip.MustParseAddrPort("10.1.0.2:80"), Forward: Tunnel, TunnelType: TunnelGRE,
			TunnelFlags: TunnelChecksum}, IPv6},
		{Destination{Addr: netip.MustParseAddrPort("10.1.0.3:80"), Forward: Route, Weight: 0}, IPv4},
		{Destination{Addr: netip.MustParseAddrPort("10.1.0.4:80"), Forward: Local, Weight: 65535}, IPv4},
	}
	for _, c := range cases {
		t.Run(c.d.Addr.String(), func(t *testing.T) {
			got, err := DecodeDestination(kernelDest(t, c.d), c.fam)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.d, got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
				t.Errorf("destination mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDestinationFamilyFromService(t *testing.T) {
	// Kernels before 4.3 send no address family: the service's applies.
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(destAttrAddr, addr16(netip.MustParseAddr("2001:db8::5")))
	ae.Bytes(destAttrPort, be16(80))
	b := mustEncode(t, ae)
	d, err := DecodeDestination(b, IPv6)
	if err != nil {
		t.Fatal(err)
	}
	if d.Addr != netip.MustParseAddrPort("[2001:db8::5]:80") {
		t.Errorf("addr = %v", d.Addr)
	}
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	good := kernelService(t, Service{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80"), Scheduler: "rr"})
	cases := []struct {
		name  string
		build func() []byte
		want  string
	}{
		{"short port", func() []byte {
			ae := netlink.NewAttributeEncoder()
			ae.Uint16(svcAttrAF, uint16(IPv4))
			ae.Bytes(svcAttrPort, []byte{1})
			b := mustEncode(t, ae)
			return b
		}, "service.port: length 1, want 2"},
		{"bad addr", func() []byte {
			ae := netlink.NewAttributeEncoder()
			ae.Bytes(svcAttrAddr, []byte{1, 2, 3})
			b := mustEncode(t, ae)
			return b
		}, "service.addr: length 3"},
		{"unknown attribute", func() []byte {
			ae := netlink.NewAttributeEncoder()
			ae.Uint16(svcAttrAF, uint16(IPv4))
			ae.Uint32(99, 1)
			b := mustEncode(t, ae)
			return b
		}, "unknown attribute type 99"},
		{"truncated", func() []byte { return good[:len(good)-3] }, "service"},
		{"no family", func() []byte {
			ae := netlink.NewAttributeEncoder()
			ae.Uint32(svcAttrFWMark, 1)
			b := mustEncode(t, ae)
			return b
		}, "service.af"},
		{"bad stats", func() []byte {
			ae := netlink.NewAttributeEncoder()
			ae.Uint16(svcAttrAF, uint16(IPv4))
			ae.Nested(svcAttrStats64, func(n *netlink.AttributeEncoder) error {
				n.Uint32(statsAttrConns, 1)
				return nil
			})
			b := mustEncode(t, ae)
			return b
		}, "service.stats64.conns: length 4, want 8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeService(c.build())
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrDecode) {
				t.Errorf("error %v does not wrap ErrDecode", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
	if _, err := DecodeDestination([]byte{8, 0, 1}, IPv4); !errors.Is(err, ErrDecode) {
		t.Errorf("truncated destination: %v", err)
	}
	if _, err := DecodeDestination(nil, IPv4); err == nil || !strings.Contains(err.Error(), "destination.addr") {
		t.Errorf("empty destination: %v", err)
	}
}

func TestEncodeServiceNetmask(t *testing.T) {
	// IPv4 masks travel in network order, IPv6 prefix lengths as numbers.
	for _, c := range []struct {
		s    Service
		want []byte
	}{
		{Service{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80"), Netmask: 0xffffff00}, []byte{255, 255, 255, 0}},
		{Service{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80")}, []byte{255, 255, 255, 255}},
		{Service{Protocol: TCP, Addr: netip.MustParseAddrPort("[::1]:80")}, native.AppendUint32(nil, 128)},
	} {
		ae := netlink.NewAttributeEncoder()
		encodeService(ae, &c.s)
		b := mustEncode(t, ae)
		ad, err := netlink.NewAttributeDecoder(b)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		for ad.Next() {
			if ad.Type() == svcAttrNetmask {
				got = ad.Bytes()
			}
		}
		if string(got) != string(c.want) {
			t.Errorf("%v: netmask bytes %v, want %v", c.s, got, c.want)
		}
	}
}

func TestDecodeDaemonInfoTimeouts(t *testing.T) {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrDaemon, func(n *netlink.AttributeEncoder) error {
		n.Uint32(daemonAttrState, uint32(Backup))
		n.String(daemonAttrMcastIfn, "eth0")
		n.Uint32(daemonAttrSyncID, 9)
		n.Uint16(daemonAttrSyncMaxLen, 1472)
		n.Uint16(daemonAttrMcastPort, 8848)
		n.Uint8(daemonAttrMcastTTL, 1)
		g := netip.MustParseAddr("224.0.0.81").As4()
		n.Bytes(daemonAttrMcastGroup, g[:])
		return nil
	})
	b := mustEncode(t, ae)
	d, err := decodeDaemonMsg(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Daemon{State: Backup, Interface: "eth0", SyncID: 9, MaxLen: 1472, Group: netip.MustParseAddr("224.0.0.81"), Port: 8848, TTL: 1}
	if d != want {
		t.Errorf("daemon = %+v, want %+v", d, want)
	}
	// Round trip through the start command's encoding.
	b2, err := daemonAttrs(&want, true)
	if err != nil {
		t.Fatal(err)
	}
	if d2, err := decodeDaemonMsg(b2); err != nil || d2 != want {
		t.Errorf("daemon round trip = %+v, %v", d2, err)
	}

	ae = netlink.NewAttributeEncoder()
	ae.Uint32(infoAttrVersion, 0x010201)
	ae.Uint32(infoAttrConnTabSize, 4096)
	b = mustEncode(t, ae)
	info, err := decodeInfo(b)
	if err != nil || info.VersionString() != "1.2.1" || info.ConnTableSize != 4096 {
		t.Errorf("info = %+v %q, %v", info, info.VersionString(), err)
	}

	b, err = timeoutAttrs(Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tm, err := decodeTimeouts(b)
	if err != nil || tm != (Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}) {
		t.Errorf("timeouts = %+v, %v", tm, err)
	}
	if _, err := decodeTimeouts([]byte{8, 0, 4, 0, 1}); !errors.Is(err, ErrDecode) {
		t.Errorf("truncated config: %v", err)
	}
}

func TestValidate(t *testing.T) {
	bad := []Service{
		{},
		{Protocol: 99, Addr: netip.MustParseAddrPort("10.0.0.1:80")},
		{FWMark: 1, Protocol: TCP},
		{Family: IPv6, Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80")},
		{Protocol: TCP, Addr: netip.MustParseAddrPort("[::1]:80"), Netmask: 129},
		{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80"), Scheduler: strings.Repeat("x", 16)},
	}
	for _, s := range bad {
		if err := s.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: Validate = %v", s, err)
		}
	}
	for _, d := range []Destination{{}, {Addr: netip.MustParseAddrPort("10.0.0.1:80"), Weight: -1}} {
		if err := d.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: Validate = %v", d, err)
		}
	}
}

func TestOpErrorSentinels(t *testing.T) {
	k := ServiceKey{Family: IPv4, Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80")}
	cases := []struct {
		op    string
		errno error
		want  error
	}{
		{"new-service", errnoEEXIST, ErrExists},
		{"new-service", errnoENOENT, ErrNoScheduler},
		{"del-dest", errnoENOENT, ErrNotFound},
		{"del-service", errnoESRCH, ErrNotFound},
		{"new-dest", errnoERANGE, ErrInvalid},
	}
	for _, c := range cases {
		err := error(&OpError{Op: c.op, Service: &k, Err: c.errno})
		if !errors.Is(err, c.want) || !errors.Is(err, c.errno) {
			t.Errorf("%s %v: errors.Is(%v) false: %v", c.op, c.errno, c.want, err)
		}
		if !strings.Contains(err.Error(), "TCP 10.0.0.1:80") {
			t.Errorf("error %q does not name the service", err)
		}
	}
}

// TestAppendServiceIDAttrs checks the allocation-free key encoding of the
// dump path against the attribute encoder's.
func TestAppendServiceIDAttrs(t *testing.T) {
	for _, s := range []Service{
		{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80")},
		{Protocol: UDP, Addr: netip.MustParseAddrPort("[fd00::1]:53")},
		{Protocol: SCTP, Addr: netip.MustParseAddrPort("192.0.2.7:65535")},
		{FWMark: 7},
		{FWMark: 0xffffffff, Family: IPv6},
	} {
		ae := netlink.NewAttributeEncoder()
		ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error {
			encodeServiceID(nae, &s)
			return nil
		})
		want, err := ae.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got := appendServiceIDAttrs([]byte{0xaa}, &s)
		if !bytes.Equal(got[1:], want) || got[0] != 0xaa {
			t.Errorf("%+v:\n got % x\nwant % x", s, got[1:], want)
		}
		if s.FWMark == 0 && len(want) != serviceIDAttrsLen {
			t.Errorf("%+v: %d bytes, serviceIDAttrsLen is %d", s, len(want), serviceIDAttrsLen)
		}
	}
}

// TestProtocolVocabulary pins the shared Protocol spelling: IANA numbers,
// lower-case String, ParseProtocol in any case.
func TestProtocolVocabulary(t *testing.T) {
	for _, tt := range []struct {
		p    Protocol
		num  uint8
		name string
	}{{TCP, 6, "tcp"}, {UDP, 17, "udp"}, {SCTP, 132, "sctp"}} {
		if uint8(tt.p) != tt.num || tt.p.String() != tt.name {
			t.Errorf("%d: %q, want %d %q", tt.p, tt.p.String(), tt.num, tt.name)
		}
		for _, s := range []string{tt.name, strings.ToUpper(tt.name)} {
			if p, err := ParseProtocol(s); err != nil || p != tt.p {
				t.Errorf("ParseProtocol(%q) = %v, %v", s, p, err)
			}
		}
	}
	if _, err := ParseProtocol("icmp"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseProtocol(icmp) = %v, want ErrInvalid", err)
	}
	if IPv4 != 2 || IPv6 != 10 || IPv4.String() != "IPv4" || IPv6.String() != "IPv6" {
		t.Error("Family vocabulary changed")
	}
	if got := (ServiceKey{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80")}).String(); got != "TCP 10.0.0.1:80" {
		t.Errorf("ServiceKey.String = %q, want ipvsadm's TCP 10.0.0.1:80", got)
	}
}
