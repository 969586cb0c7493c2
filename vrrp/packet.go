package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// Protocol is the IP protocol number of VRRP.
const Protocol = 112

// Multicast groups VRRP advertisements are sent to.
var (
	MulticastIPv4 = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	MulticastIPv6 = netip.MustParseAddr("ff02::12")
)

// TypeAdvertisement is the only VRRP packet type (RFC 3768, RFC 9568).
const TypeAdvertisement = 1

const (
	headerLen   = 8
	authDataLen = 8 // v2 only
)

// AuthType is the VRRPv2 authentication type (RFC 2338 / RFC 3768).
type AuthType uint8

// Authentication types. RFC 3768 removed authentication; keepalived still
// speaks simple password ("PASS"), and IP AH is recognised only to be
// rejected.
const (
	AuthNone   AuthType = 0
	AuthSimple AuthType = 1
	AuthAH     AuthType = 2
)

// String returns keepalived's name for the type.
func (a AuthType) String() string {
	switch a {
	case AuthNone:
		return "none"
	case AuthSimple:
		return "PASS"
	case AuthAH:
		return "AH"
	}
	return fmt.Sprintf("auth(%d)", uint8(a))
}

// ChecksumMode says how a VRRPv3 IPv4 checksum is computed. IPv6 always
// uses the pseudo-header and VRRPv2 never does.
type ChecksumMode uint8

// Checksum dialects for VRRPv3 over IPv4.
const (
	// ChecksumPseudoHeader includes the IPv4 pseudo-header (RFC 9568,
	// keepalived and FRR by default).
	ChecksumPseudoHeader ChecksumMode = iota
	// ChecksumMessageOnly covers the VRRP message only, as in VRRPv2
	// (keepalived's v3_checksum_as_v2, some vendor routers).
	ChecksumMessageOnly
)

// String names the dialect.
func (m ChecksumMode) String() string {
	if m == ChecksumMessageOnly {
		return "message-only"
	}
	return "pseudo-header"
}

// Packet is a VRRP advertisement. Decoding into a reused Packet does not
// allocate once Addrs has grown to the largest address count seen.
type Packet struct {
	// Version is 2 or 3.
	Version uint8
	// Type is TypeAdvertisement for every valid packet.
	Type uint8
	// VRID is the virtual router identifier, 1..255.
	VRID uint8
	// Priority is the sender's priority; 0 means it resigns, 255 that it
	// owns the addresses.
	Priority uint8
	// AuthType is the VRRPv2 authentication type (zero in v3).
	AuthType AuthType
	// Interval is the advertisement interval: whole seconds in v2,
	// centiseconds (12 bits) in v3.
	Interval time.Duration
	// Checksum is the checksum field as received (or as last encoded).
	Checksum uint16
	// Addrs are the virtual addresses carried, all IPv4 or all IPv6.
	Addrs []netip.Addr
	// AuthData is the VRRPv2 authentication data (8 bytes, zero padded).
	AuthData [8]byte
}

// Len returns the encoded length of p: the 8-byte header, 4 bytes per IPv4
// and 16 per IPv6 address, and for VRRPv2 8 bytes of authentication data.
func (p *Packet) Len() int {
	n := headerLen
	for _, a := range p.Addrs {
		if a.Is4() {
			n += 4
		} else {
			n += 16
		}
	}
	if p.Version == 2 {
		n += authDataLen
	}
	return n
}

// DecodeFromBytes fills p from the VRRP message b (the IP payload). ipv6
// tells the address family, which the message itself does not carry. It
// checks lengths before reading and never keeps a reference to b. The
// checksum is not verified here; see VerifyChecksum.
func (p *Packet) DecodeFromBytes(b []byte, ipv6 bool) error {
	if len(b) < headerLen {
		return &DecodeError{Reason: DropLength, Offset: len(b), Detail: "shorter than the 8-byte header"}
	}
	p.Version = b[0] >> 4
	p.Type = b[0] & 0x0f
	if p.Version != 2 && p.Version != 3 {
		return &DecodeError{Reason: DropVersion, Offset: 0, Detail: "unknown version"}
	}
	if p.Type != TypeAdvertisement {
		return &DecodeError{Reason: DropType, Offset: 0, Detail: "type is not advertisement"}
	}
	p.VRID = b[1]
	p.Priority = b[2]
	count := int(b[3])
	p.Checksum = binary.BigEndian.Uint16(b[6:8])
	alen := 4
	if ipv6 {
		alen = 16
	}
	want := headerLen + count*alen
	if p.Version == 2 {
		if ipv6 {
			return &DecodeError{Reason: DropVersion, Offset: 0, Detail: "VRRPv2 is IPv4 only"}
		}
		p.AuthType = AuthType(b[4])
		p.Interval = time.Duration(b[5]) * time.Second
		want += authDataLen
	} else {
		p.AuthType = AuthNone
		p.Interval = time.Duration(binary.BigEndian.Uint16(b[4:6])&0x0fff) * 10 * time.Millisecond
	}
	if count == 0 {
		return &DecodeError{Reason: DropAddrCount, Offset: 3, Detail: "no addresses"}
	}
	if len(b) < want {
		return &DecodeError{Reason: DropLength, Offset: len(b), Detail: fmt.Sprintf("%d bytes, %d addresses need %d", len(b), count, want)}
	}
	p.Addrs = p.Addrs[:0]
	off := headerLen
	for i := 0; i < count; i++ {
		if ipv6 {
			p.Addrs = append(p.Addrs, netip.AddrFrom16([16]byte(b[off:off+16])))
		} else {
			p.Addrs = append(p.Addrs, netip.AddrFrom4([4]byte(b[off:off+4])))
		}
		off += alen
	}
	p.AuthData = [8]byte{}
	if p.Version == 2 {
		copy(p.AuthData[:], b[off:off+authDataLen])
	}
	return nil
}

// AppendTo appends the encoded message to b and returns the extended
// slice. src and dst are the IP source and destination, needed for the
// pseudo-header checksum (VRRPv3); mode picks the IPv4 VRRPv3 dialect.
// p.Checksum is set to the value written.
func (p *Packet) AppendTo(b []byte, src, dst netip.Addr, mode ChecksumMode) ([]byte, error) {
	if p.Version != 2 && p.Version != 3 {
		return b, fmt.Errorf("vrrp: encode: version %d: %w", p.Version, ErrInvalid)
	}
	if len(p.Addrs) == 0 || len(p.Addrs) > 255 {
		return b, fmt.Errorf("vrrp: encode: %d addresses: %w", len(p.Addrs), ErrInvalid)
	}
	ipv6 := p.Addrs[0].Is6() && !p.Addrs[0].Is4In6()
	if p.Version == 2 && ipv6 {
		return b, fmt.Errorf("vrrp: encode: VRRPv2 carries IPv4 only: %w", ErrInvalid)
	}
	start := len(b)
	typ := p.Type
	if typ == 0 {
		typ = TypeAdvertisement
	}
	b = append(b, p.Version<<4|typ&0x0f, p.VRID, p.Priority, uint8(len(p.Addrs)))
	if p.Version == 2 {
		secs := p.Interval / time.Second
		if secs < 1 || secs > 255 {
			return b[:start], fmt.Errorf("vrrp: encode: v2 interval %v not in 1..255 s: %w", p.Interval, ErrInvalid)
		}
		b = append(b, uint8(p.AuthType), uint8(secs))
	} else {
		cs := p.Interval / (10 * time.Millisecond)
		if cs < 1 || cs > 0x0fff {
			return b[:start], fmt.Errorf("vrrp: encode: v3 interval %v not in 10ms..40.95s: %w", p.Interval, ErrInvalid)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(cs))
	}
	b = append(b, 0, 0)
	for _, a := range p.Addrs {
		if a.Is4() != !ipv6 {
			return b[:start], fmt.Errorf("vrrp: encode: mixed address families (%v): %w", a, ErrInvalid)
		}
		b = append(b, a.AsSlice()...)
	}
	if p.Version == 2 {
		b = append(b, p.AuthData[:]...)
	}
	msg := b[start:]
	pseudo := p.Version == 3 && (ipv6 || mode == ChecksumPseudoHeader)
	if pseudo && (!src.IsValid() || !dst.IsValid()) {
		return b[:start], fmt.Errorf("vrrp: encode: pseudo-header checksum needs source and destination: %w", ErrInvalid)
	}
	p.Checksum = checksum(msg, src, dst, pseudo)
	binary.BigEndian.PutUint16(msg[6:8], p.Checksum)
	return b, nil
}

// VerifyChecksum checks the checksum of the VRRP message msg received from
// src to dst. For VRRPv3 over IPv4 it accepts both dialects and reports
// which one matched; IPv6 and VRRPv2 have a single dialect.
func VerifyChecksum(msg []byte, src, dst netip.Addr) (ChecksumMode, bool) {
	if len(msg) < headerLen {
		return 0, false
	}
	v := msg[0] >> 4
	if v == 2 {
		return ChecksumMessageOnly, sum(msg, 0) == 0xffff
	}
	if src.Is6() && !src.Is4In6() {
		return ChecksumPseudoHeader, checksumFold(sum(msg, pseudoSum(src, dst, len(msg)))) == 0
	}
	if checksumFold(sum(msg, pseudoSum(src, dst, len(msg)))) == 0 {
		return ChecksumPseudoHeader, true
	}
	if sum(msg, 0) == 0xffff {
		return ChecksumMessageOnly, true
	}
	return ChecksumPseudoHeader, false
}

// checksum computes the Internet checksum of msg whose checksum field is
// zero, over the pseudo-header too when pseudo is set.
func checksum(msg []byte, src, dst netip.Addr, pseudo bool) uint16 {
	var init uint32
	if pseudo {
		init = pseudoSum(src, dst, len(msg))
	}
	return checksumFold(sum(msg, init))
}

func checksumFold(s uint32) uint16 { return ^uint16(s) }

// sum is the folded one's complement sum of b plus init.
func sum(b []byte, init uint32) uint32 {
	s := init
	n := len(b) &^ 1
	for i := 0; i < n; i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)&1 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return s
}

// pseudoSum sums the IPv4 (RFC 768 style) or IPv6 (RFC 8200 8.1)
// pseudo-header; the two differ only in address width, which the one's
// complement sum does not care about beyond the bytes themselves.
func pseudoSum(src, dst netip.Addr, n int) uint32 {
	var s uint32
	if src.Is4() || src.Is4In6() {
		a, d := src.Unmap().As4(), dst.Unmap().As4()
		s = sum(a[:], s)
		s = sum(d[:], s)
	} else {
		a, d := src.As16(), dst.As16()
		s = sum(a[:], s)
		s = sum(d[:], s)
	}
	s += Protocol + uint32(n)
	return s
}
