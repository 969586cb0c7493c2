package ipvs

// Append encoders for the commands Apply sends by the tens of thousands:
// the same bytes as the netlink.AttributeEncoder versions in encode.go
// (TestAppendEncodersMatch), written into one buffer without an
// allocation per attribute. At 10,000 services × 4 destinations the
// encoder versions cost 2.3 µs per operation on the host, most of a
// start's time in a TCG guest.

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// appendAddr16 appends a as the kernel's 16-byte union nf_inet_addr.
func appendAddr16(b []byte, a netip.Addr) []byte {
	switch {
	case a.Is4():
		v := a.As4()
		b = append(b, v[:]...)
		return append(b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	case a.IsValid():
		v := a.As16()
		return append(b, v[:]...)
	}
	return append(b, make([]byte, 16)...)
}

func appendU32Attr(b []byte, typ uint16, v uint32) []byte {
	b = appendAttrHeader(b, typ, 4)
	return native.AppendUint32(b, v)
}

func appendU16Attr(b []byte, typ uint16, v uint16) []byte {
	b = appendAttrHeader(b, typ, 2)
	b = native.AppendUint16(b, v)
	return append(b, 0, 0)
}

func appendBE16Attr(b []byte, typ uint16, v uint16) []byte {
	b = appendAttrHeader(b, typ, 2)
	b = binary.BigEndian.AppendUint16(b, v)
	return append(b, 0, 0)
}

// appendStringAttr appends s NUL-terminated and padded to 4 bytes, as
// netlink.AttributeEncoder.String does.
func appendStringAttr(b []byte, typ uint16, s string) []byte {
	b = appendAttrHeader(b, typ, len(s)+1)
	b = append(b, s...)
	b = append(b, 0)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// appendServiceAttrs appends IPVS_CMD_ATTR_SERVICE with the full service
// (new or set service), as serviceAttrs(s, true) encodes it.
func appendServiceAttrs(b []byte, s *Service) []byte {
	start := len(b)
	id := appendServiceIDAttrs(b, s)
	// Reuse the identifying attributes, then extend the nest.
	b = id
	b = appendStringAttr(b, svcAttrSchedName, s.scheduler())
	if s.PersistenceEngine != "" {
		b = appendStringAttr(b, svcAttrPEName, s.PersistenceEngine)
	}
	b = appendAttrHeader(b, svcAttrFlags, 8)
	b = native.AppendUint32(b, uint32(s.Flags&^FlagHashed))
	b = native.AppendUint32(b, 0xffffffff)
	b = appendU32Attr(b, svcAttrTimeout, uint32(s.Timeout/time.Second))
	// The kernel keeps the netmask as __be32: an IPv4 mask in network
	// order, an IPv6 prefix length as a plain number in the same field.
	b = appendAttrHeader(b, svcAttrNetmask, 4)
	if s.family() == IPv4 {
		b = binary.BigEndian.AppendUint32(b, s.netmask())
	} else {
		b = native.AppendUint32(b, s.netmask())
	}
	native.PutUint16(b[start:], uint16(len(b)-start))
	return b
}

// appendDestAttrs appends the service's identifying attributes and
// IPVS_CMD_ATTR_DEST, full (new or set destination) or identifying only
// (delete): a destination command's top-level attributes.
func appendDestAttrs(b []byte, s *Service, d *Destination, full bool) []byte {
	b = appendServiceIDAttrs(b, s)
	start := len(b)
	b = appendAttrHeader(b, cmdAttrDest|nlaFNested, 0)
	b = appendAttrHeader(b, destAttrAddr, 16)
	b = appendAddr16(b, d.Addr.Addr())
	b = appendBE16Attr(b, destAttrPort, d.Addr.Port())
	b = appendU16Attr(b, destAttrAddrFamily, uint16(familyOf(d.Addr.Addr())))
	if full {
		b = appendU32Attr(b, destAttrFwdMethod, uint32(d.Forward))
		b = appendU32Attr(b, destAttrWeight, uint32(d.Weight))
		b = appendU32Attr(b, destAttrUThresh, d.UpperThreshold)
		b = appendU32Attr(b, destAttrLThresh, d.LowerThreshold)
		b = appendAttrHeader(b, destAttrTunType, 1)
		b = append(b, uint8(d.TunnelType), 0, 0, 0)
		b = appendBE16Attr(b, destAttrTunPort, d.TunnelPort)
		b = appendU16Attr(b, destAttrTunFlags, uint16(d.TunnelFlags))
	}
	native.PutUint16(b[start:], uint16(len(b)-start))
	return b
}
