package vrrp

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	src4 = netip.MustParseAddr("10.9.0.1")
	src6 = netip.MustParseAddr("fe80::1")
)

func TestPacketRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		p    Packet
		src  netip.Addr
		dst  netip.Addr
		mode ChecksumMode
	}{
		{"v2 none", Packet{Version: 2, VRID: 51, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("10.9.0.100")}}, src4, MulticastIPv4, ChecksumMessageOnly},
		{"v2 PASS two addrs", Packet{Version: 2, VRID: 1, Priority: 255, AuthType: AuthSimple, AuthData: [8]byte{'s', 'e', 'c', 'r', 'e', 't'}, Interval: 3 * time.Second,
			Addrs: []netip.Addr{netip.MustParseAddr("10.9.0.100"), netip.MustParseAddr("10.9.0.101")}}, src4, MulticastIPv4, ChecksumMessageOnly},
		{"v3 ipv4 pseudo", Packet{Version: 3, VRID: 7, Priority: 150, Interval: 50 * time.Millisecond, Addrs: []netip.Addr{netip.MustParseAddr("10.9.0.100")}}, src4, MulticastIPv4, ChecksumPseudoHeader},
		{"v3 ipv4 message-only", Packet{Version: 3, VRID: 7, Priority: 150, Interval: 40950 * time.Millisecond, Addrs: []netip.Addr{netip.MustParseAddr("10.9.0.100")}}, src4, MulticastIPv4, ChecksumMessageOnly},
		{"v3 ipv6", Packet{Version: 3, VRID: 9, Priority: 1, Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("fe80::100"), netip.MustParseAddr("fd00::100")}}, src6, MulticastIPv6, ChecksumPseudoHeader},
		{"v3 ipv4 unicast", Packet{Version: 3, VRID: 7, Priority: 150, Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("10.9.0.100")}}, src4, netip.MustParseAddr("10.9.0.2"), ChecksumPseudoHeader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			buf := []byte{0xaa} // AppendTo must keep what is there
			b, err := tc.p.AppendTo(buf, tc.src, tc.dst, tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			if b[0] != 0xaa || len(b)-1 != tc.p.Len() {
				t.Fatalf("AppendTo wrote %d bytes (prefix %x), want %d", len(b)-1, b[0], tc.p.Len())
			}
			msg := b[1:]
			mode, ok := VerifyChecksum(msg, tc.src, tc.dst)
			if !ok || mode != tc.mode {
				t.Fatalf("VerifyChecksum = %v, %v; want %v, true (msg %x)", mode, ok, tc.mode, msg)
			}
			var got Packet
			if err := got.DecodeFromBytes(msg, tc.src.Is6()); err != nil {
				t.Fatal(err)
			}
			want := tc.p
			want.Type = TypeAdvertisement
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Fatalf("decode mismatch (-want +got):\n%s", diff)
			}
			// Any flipped bit breaks the checksum in every dialect.
			for i := range msg {
				msg[i] ^= 0x10
				if _, ok := VerifyChecksum(msg, tc.src, tc.dst); ok {
					t.Fatalf("flipped byte %d still verifies", i)
				}
				msg[i] ^= 0x10
			}
		})
	}
}

// Known vectors, checksums computed independently (Python, RFC 1071 sum):
// keepalived-style v2 PASS "1111" and a v3 IPv4 pseudo-header packet.
func TestPacketVectors(t *testing.T) {
	vip := netip.MustParseAddr("192.168.122.200")
	src := netip.MustParseAddr("192.168.122.2")
	for _, tc := range []struct {
		p    Packet
		want string
	}{
		{Packet{Version: 2, VRID: 51, Priority: 100, AuthType: AuthSimple, AuthData: [8]byte{'1', '1', '1', '1'},
			Interval: time.Second, Addrs: []netip.Addr{vip}}, "213364010101dbf6c0a87ac83131313100000000"},
		{Packet{Version: 3, VRID: 51, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{vip}}, "31336401006413bcc0a87ac8"},
	} {
		b, err := tc.p.AppendTo(nil, src, MulticastIPv4, ChecksumPseudoHeader)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(b); got != tc.want {
			t.Errorf("encoded %s, want %s", got, tc.want)
		}
	}
}

func TestPacketDecodeErrors(t *testing.T) {
	good, _ := (&Packet{Version: 2, VRID: 1, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{src4}}).AppendTo(nil, src4, MulticastIPv4, 0)
	var p Packet
	for n := range len(good) {
		err := p.DecodeFromBytes(good[:n], false)
		var de *DecodeError
		if !errors.As(err, &de) || de.Reason != DropLength {
			t.Fatalf("truncated to %d: err %v, want length error", n, err)
		}
	}
	mut := func(i int, v byte) []byte {
		b := append([]byte(nil), good...)
		b[i] = v
		return b
	}
	for _, tc := range []struct {
		b      []byte
		ipv6   bool
		reason DropReason
	}{
		{mut(0, 0x41), false, DropVersion},
		{mut(0, 0x22), false, DropType},
		{mut(3, 0), false, DropAddrCount},
		{mut(3, 2), false, DropLength},
		{good, true, DropVersion},
	} {
		err := p.DecodeFromBytes(tc.b, tc.ipv6)
		var de *DecodeError
		if !errors.As(err, &de) || de.Reason != tc.reason {
			t.Errorf("%x: err %v, want %v", tc.b, err, tc.reason)
		}
	}
}

func TestPacketEncodeErrors(t *testing.T) {
	v4 := []netip.Addr{src4}
	for _, p := range []Packet{
		{Version: 1, Interval: time.Second, Addrs: v4},
		{Version: 2, Interval: time.Second},
		{Version: 2, Interval: 500 * time.Millisecond, Addrs: v4},
		{Version: 2, Interval: time.Second, Addrs: []netip.Addr{src6}},
		{Version: 3, Interval: 41 * time.Second, Addrs: v4},
		{Version: 3, Interval: time.Second, Addrs: []netip.Addr{src4, src6}},
	} {
		if _, err := p.AppendTo(nil, src4, MulticastIPv4, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: err %v, want ErrInvalid", p, err)
		}
	}
	p := Packet{Version: 3, Interval: time.Second, Addrs: v4}
	if _, err := p.AppendTo(nil, netip.Addr{}, netip.Addr{}, ChecksumPseudoHeader); !errors.Is(err, ErrInvalid) {
		t.Errorf("pseudo-header without addresses: err %v", err)
	}
}

func TestParseAndCheck(t *testing.T) {
	vip := netip.MustParseAddr("10.9.0.100")
	pass := [8]byte{'p', 'w'}
	exp := &Expect{Version: 2, VRID: 5, AuthType: AuthSimple, AuthPass: pass, Interval: time.Second, Addrs: []netip.Addr{vip}, CheckAddrs: true, Self: src4}
	peer := netip.MustParseAddr("10.9.0.2")
	base := Packet{Version: 2, VRID: 5, Priority: 100, AuthType: AuthSimple, AuthData: pass, Interval: time.Second, Addrs: []netip.Addr{vip}}
	info := RecvInfo{Src: peer, Dst: MulticastIPv4, TTL: 255}
	for _, tc := range []struct {
		name   string
		edit   func(*Packet, *RecvInfo)
		reason DropReason
	}{
		{"good", func(*Packet, *RecvInfo) {}, DropNone},
		{"ttl", func(_ *Packet, i *RecvInfo) { i.TTL = 64 }, DropTTL},
		{"vrid", func(p *Packet, _ *RecvInfo) { p.VRID = 6 }, DropVRID},
		{"version", func(p *Packet, _ *RecvInfo) { p.Version = 3; p.AuthType = 0; p.AuthData = [8]byte{} }, DropVersion},
		{"auth type", func(p *Packet, _ *RecvInfo) { p.AuthType = AuthNone }, DropAuthType},
		{"auth AH", func(p *Packet, _ *RecvInfo) { p.AuthType = AuthAH }, DropAuthAH},
		{"password", func(p *Packet, _ *RecvInfo) { p.AuthData[0] = 'x' }, DropAuthMismatch},
		{"interval", func(p *Packet, _ *RecvInfo) { p.Interval = 2 * time.Second }, DropInterval},
		{"addr list", func(p *Packet, _ *RecvInfo) { p.Addrs = []netip.Addr{peer} }, DropAddrList},
		{"addr count", func(p *Packet, _ *RecvInfo) { p.Addrs = []netip.Addr{vip, peer} }, DropAddrCount},
		{"owner may differ", func(p *Packet, _ *RecvInfo) { p.Priority = 255; p.Addrs = []netip.Addr{peer} }, DropNone},
		{"own packet", func(_ *Packet, i *RecvInfo) { i.Src = src4 }, DropOwnPacket},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, in := base, info
			p.Addrs = append([]netip.Addr(nil), base.Addrs...)
			tc.edit(&p, &in)
			msg, err := p.AppendTo(nil, in.Src, in.Dst, 0)
			if err != nil {
				t.Fatal(err)
			}
			var got Packet
			_, r := Parse(msg, in, &got)
			if r == DropNone {
				r = exp.Check(&got, in)
			}
			if r != tc.reason {
				t.Fatalf("drop %v, want %v", r, tc.reason)
			}
		})
	}
	// Bad checksum.
	msg, _ := base.AppendTo(nil, peer, MulticastIPv4, 0)
	msg[6]++
	var got Packet
	if _, r := Parse(msg, info, &got); r != DropChecksum {
		t.Fatalf("bad checksum: drop %v", r)
	}
	// AH is reported through errors.Is.
	if !errors.Is(&DecodeError{Reason: DropAuthAH}, ErrAuthAH) {
		t.Fatal("DecodeError{DropAuthAH} is not ErrAuthAH")
	}
	// Unicast peer list.
	e3 := &Expect{Version: 3, VRID: 5, Peers: []netip.Addr{netip.MustParseAddr("10.9.0.3")}}
	p3 := Packet{Version: 3, VRID: 5, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{vip}}
	if r := e3.Check(&p3, info); r != DropUnknownPeer {
		t.Fatalf("unknown peer: drop %v", r)
	}
}

func TestDecodeNoAlloc(t *testing.T) {
	msg, _ := (&Packet{Version: 3, VRID: 5, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{src6, src6}}).AppendTo(nil, src6, MulticastIPv6, 0)
	var p Packet
	p.DecodeFromBytes(msg, true)
	info := RecvInfo{Src: src6, Dst: MulticastIPv6, TTL: 255}
	if n := testing.AllocsPerRun(100, func() { Parse(msg, info, &p) }); n != 0 {
		t.Fatalf("Parse allocates %v times", n)
	}
	buf := make([]byte, 0, 128)
	if n := testing.AllocsPerRun(100, func() { p.AppendTo(buf[:0], src6, MulticastIPv6, 0) }); n != 0 {
		t.Fatalf("AppendTo allocates %v times", n)
	}
}

func BenchmarkParse(b *testing.B) {
	msg, _ := (&Packet{Version: 3, VRID: 5, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{src4}}).AppendTo(nil, src4, MulticastIPv4, 0)
	info := RecvInfo{Src: src4, Dst: MulticastIPv4, TTL: 255}
	var p Packet
	b.ReportAllocs()
	for b.Loop() {
		if _, r := Parse(msg, info, &p); r != DropNone {
			b.Fatal(r)
		}
	}
}

func BenchmarkAppendTo(b *testing.B) {
	p := Packet{Version: 3, VRID: 5, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{src4}}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.AppendTo(buf[:0], src4, MulticastIPv4, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []Packet{
		{Version: 2, VRID: 51, Priority: 100, AuthType: AuthSimple, AuthData: [8]byte{'1'}, Interval: time.Second, Addrs: []netip.Addr{src4}},
		{Version: 3, VRID: 7, Priority: 150, Interval: 50 * time.Millisecond, Addrs: []netip.Addr{src4, src4}},
	} {
		b, _ := p.AppendTo(nil, src4, MulticastIPv4, 0)
		f.Add(b, false)
	}
	b, _ := (&Packet{Version: 3, VRID: 9, Priority: 1, Interval: time.Second, Addrs: []netip.Addr{src6}}).AppendTo(nil, src6, MulticastIPv6, 0)
	f.Add(b, true)
	f.Fuzz(func(t *testing.T, msg []byte, ipv6 bool) {
		info := RecvInfo{Src: src4, Dst: MulticastIPv4, TTL: 255}
		if ipv6 {
			info = RecvInfo{Src: src6, Dst: MulticastIPv6, TTL: 255}
		}
		var p Packet
		mode, r := Parse(msg, info, &p)
		if r != DropNone {
			return
		}
		exp := &Expect{Version: p.Version, VRID: p.VRID, AuthType: p.AuthType, AuthPass: p.AuthData, Interval: p.Interval, Addrs: p.Addrs, CheckAddrs: true}
		if r := exp.Check(&p, info); r != DropNone && r != DropAuthAH {
			t.Fatalf("packet fails checks against its own fields: %v", r)
		}
		if p.AuthType == AuthAH || (p.Version == 2 && p.Interval == 0) || (p.Version == 3 && p.Interval == 0) {
			return
		}
		// Re-encoding a valid packet gives back the same message.
		out, err := p.AppendTo(nil, info.Src, info.Dst, mode)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		got := msg[:p.Len()]
		if p.Version == 3 && got[4]&0xf0 != 0 {
			return // reserved bits are not kept
		}
		// The checksum may legally be 0x0000 or 0xffff; compare the rest.
		if string(out[:6]) != string(got[:6]) || string(out[8:]) != string(got[8:]) {
			t.Fatalf("re-encoded %x, received %x", out, got)
		}
	})
}
