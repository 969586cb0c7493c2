package check

import (
	"net/netip"
	"testing"
)

// synAckFor builds the IPv4 packet a listener at from answers a probe
// with: a SYN-ACK (or RST) acknowledging isn.
func synAckFor(from, to netip.AddrPort, isn uint32, flags byte) []byte {
	b := make([]byte, ipv4HeaderLen+tcpHeaderLen)
	buildIPv4(b, from.Addr(), to.Addr(), tcpHeaderLen)
	buildSYN(b[ipv4HeaderLen:], from.Addr(), from.Port(), to, 77)
	b[ipv4HeaderLen+8], b[ipv4HeaderLen+9], b[ipv4HeaderLen+10], b[ipv4HeaderLen+11] = byte((isn+1)>>24), byte((isn+1)>>16), byte((isn+1)>>8), byte(isn+1)
	b[ipv4HeaderLen+13] = flags
	return b
}

func TestParseRawReply(t *testing.T) {
	from := netip.MustParseAddrPort("10.0.0.2:80")
	to := netip.MustParseAddrPort("10.0.0.1:40000")
	b := synAckFor(from, to, 1000, tcpSYN|tcpACK)
	r, ok := parseRawReply(b, true)
	if !ok || r.src != from.Addr() || r.sport != 80 || r.dport != 40000 || r.ack != 1001 || !r.synAck() || r.reset() {
		t.Fatalf("%+v %v", r, ok)
	}
	r, ok = parseRawReply(synAckFor(from, to, 1000, tcpRST|tcpACK), true)
	if !ok || !r.reset() || r.synAck() {
		t.Fatalf("RST: %+v %v", r, ok)
	}
	r, ok = parseRawReply(b[ipv4HeaderLen:], false)
	if !ok || r.src.IsValid() || r.ack != 1001 {
		t.Fatalf("IPv6 (no IP header): %+v %v", r, ok)
	}
	for name, bad := range map[string][]byte{
		"empty":        nil,
		"short":        b[:30],
		"not IPv4":     append([]byte{0x65}, b[1:]...),
		"not TCP":      append(append(append([]byte{}, b[:9]...), 17), b[10:]...),
		"fragment":     append(append(append([]byte{}, b[:6]...), 0x00, 0x10), b[8:]...),
		"ihl too long": append([]byte{0x4f}, b[1:]...),
	} {
		if _, ok := parseRawReply(bad, true); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestSYNChecksum: a probe's checksum verifies over its pseudo-header.
func TestSYNChecksum(t *testing.T) {
	src, dst := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddrPort("198.51.100.7:443")
	var b [tcpHeaderLen]byte
	buildSYN(b[:], src, 40001, dst, 0xdeadbeef)
	if c := tcpChecksum(src, dst.Addr(), b[:]); c != 0 {
		t.Fatalf("checksum over the segment with its checksum = %#x, want 0", c)
	}
	if b[13] != tcpSYN || b[12]>>4 != 5 {
		t.Fatalf("header %x", b)
	}
}

func TestTCPProbeString(t *testing.T) {
	for p, want := range map[TCPProbe]string{ProbeAuto: "auto", ProbeConnect: "connect", ProbeHalfOpen: "half-open", 9: "probe(9)"} {
		if got := p.String(); got != want {
			t.Errorf("%d: %q, want %q", p, got, want)
		}
	}
}

// FuzzRawReply: the decoder of what a probe's raw socket reads never
// panics, and what it accepts re-encodes to the same fields.
func FuzzRawReply(f *testing.F) {
	from := netip.MustParseAddrPort("10.0.0.2:80")
	to := netip.MustParseAddrPort("10.0.0.1:40000")
	f.Add(synAckFor(from, to, 1, tcpSYN|tcpACK), true)
	f.Add(synAckFor(from, to, 1, tcpRST|tcpACK)[ipv4HeaderLen:], false)
	f.Fuzz(func(t *testing.T, b []byte, v4 bool) {
		r, ok := parseRawReply(b, v4)
		if !ok {
			return
		}
		if v4 && !r.src.Is4() {
			t.Fatalf("IPv4 reply from %v", r.src)
		}
		if r.synAck() && r.reset() {
			t.Fatal("both SYN-ACK and RST")
		}
	})
}
