package ipvs

// Encoders: the request attributes of every IPVS command.

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/mdlayher/netlink"
)

// addr16 renders an address as the kernel's 16-byte union nf_inet_addr.
func addr16(a netip.Addr) []byte {
	b := make([]byte, 16)
	if a.Is4() {
		v := a.As4()
		copy(b, v[:])
	} else if a.IsValid() {
		v := a.As16()
		copy(b, v[:])
	}
	return b
}

// be16 renders a port in network byte order.
func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// encodeServiceID writes the attributes that identify s.
func encodeServiceID(ae *netlink.AttributeEncoder, s *Service) {
	k := s.Key()
	ae.Uint16(svcAttrAF, uint16(k.Family))
	if k.FWMark != 0 {
		ae.Uint32(svcAttrFWMark, k.FWMark)
		return
	}
	ae.Uint16(svcAttrProtocol, uint16(k.Protocol))
	ae.Bytes(svcAttrAddr, addr16(k.Addr.Addr()))
	ae.Bytes(svcAttrPort, be16(k.Addr.Port()))
}

// serviceIDAttrsLen is the length of appendServiceIDAttrs's output for an
// address service (a firewall-mark one is shorter).
const serviceIDAttrsLen = 4 + 8 + 8 + 4 + 16 + 8

// appendServiceIDAttrs appends IPVS_CMD_ATTR_SERVICE holding the attributes
// that identify s, as encodeServiceID writes them: the same bytes without an
// encoder's allocations, for the one request per service of a Dump.
func appendServiceIDAttrs(b []byte, s *Service) []byte {
	k := s.Key()
	start := len(b)
	b = appendAttrHeader(b, cmdAttrService|nlaFNested, 0)
	b = appendAttrHeader(b, svcAttrAF, 2)
	b = native.AppendUint16(b, uint16(k.Family))
	b = append(b, 0, 0)
	if k.FWMark != 0 {
		b = appendAttrHeader(b, svcAttrFWMark, 4)
		b = native.AppendUint32(b, k.FWMark)
	} else {
		b = appendAttrHeader(b, svcAttrProtocol, 2)
		b = native.AppendUint16(b, uint16(k.Protocol))
		b = append(b, 0, 0)
		b = appendAttrHeader(b, svcAttrAddr, 16)
		a := k.Addr.Addr()
		if a.Is4() {
			v := a.As4()
			b = append(b, v[:]...)
			b = append(b, make([]byte, 12)...)
		} else {
			v := a.As16()
			b = append(b, v[:]...)
		}
		b = appendAttrHeader(b, svcAttrPort, 2)
		b = binary.BigEndian.AppendUint16(b, k.Addr.Port())
		b = append(b, 0, 0)
	}
	native.PutUint16(b[start:], uint16(len(b)-start))
	return b
}

// nlaFNested marks an attribute holding attributes.
const nlaFNested = 0x8000

// appendAttrHeader appends a netlink attribute header for n bytes of data.
func appendAttrHeader(b []byte, typ uint16, n int) []byte {
	b = native.AppendUint16(b, uint16(4+n))
	return native.AppendUint16(b, typ)
}

// encodeService writes a full service (for new/set service).
func encodeService(ae *netlink.AttributeEncoder, s *Service) {
	encodeServiceID(ae, s)
	ae.String(svcAttrSchedName, s.scheduler())
	if s.PersistenceEngine != "" {
		ae.String(svcAttrPEName, s.PersistenceEngine)
	}
	flags := make([]byte, 8)
	native.PutUint32(flags, uint32(s.Flags&^FlagHashed))
	native.PutUint32(flags[4:], 0xffffffff)
	ae.Bytes(svcAttrFlags, flags)
	ae.Uint32(svcAttrTimeout, uint32(s.Timeout/time.Second))
	// The kernel keeps the netmask as __be32: an IPv4 mask in network
	// order, an IPv6 prefix length as a plain number in the same field.
	if s.family() == IPv4 {
		ae.Bytes(svcAttrNetmask, binary.BigEndian.AppendUint32(nil, s.netmask()))
	} else {
		ae.Uint32(svcAttrNetmask, s.netmask())
	}
}

// encodeDestID writes the attributes that identify d.
func encodeDestID(ae *netlink.AttributeEncoder, d *Destination) {
	ae.Bytes(destAttrAddr, addr16(d.Addr.Addr()))
	ae.Bytes(destAttrPort, be16(d.Addr.Port()))
	ae.Uint16(destAttrAddrFamily, uint16(familyOf(d.Addr.Addr())))
}

// encodeDest writes a full destination (for new/set destination).
func encodeDest(ae *netlink.AttributeEncoder, d *Destination) {
	encodeDestID(ae, d)
	ae.Uint32(destAttrFwdMethod, uint32(d.Forward))
	ae.Uint32(destAttrWeight, uint32(d.Weight))
	ae.Uint32(destAttrUThresh, d.UpperThreshold)
	ae.Uint32(destAttrLThresh, d.LowerThreshold)
	ae.Uint8(destAttrTunType, uint8(d.TunnelType))
	ae.Bytes(destAttrTunPort, be16(d.TunnelPort))
	ae.Uint16(destAttrTunFlags, uint16(d.TunnelFlags))
}

// serviceAttrs encodes the top-level attributes of a service command
// (encode_append.go writes them).
func serviceAttrs(s *Service, full bool) ([]byte, error) {
	if !full {
		return appendServiceIDAttrs(nil, s), nil
	}
	return appendServiceAttrs(make([]byte, 0, 128), s), nil
}

// daemonAttrs encodes a sync daemon for start (full) or stop (state only).
func daemonAttrs(d *Daemon, full bool) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrDaemon, func(nae *netlink.AttributeEncoder) error {
		nae.Uint32(daemonAttrState, uint32(d.State))
		if !full {
			return nil
		}
		nae.String(daemonAttrMcastIfn, d.Interface)
		nae.Uint32(daemonAttrSyncID, d.SyncID)
		if d.MaxLen != 0 {
			nae.Uint16(daemonAttrSyncMaxLen, d.MaxLen)
		}
		if d.Group.IsValid() {
			if d.Group.Is4() {
				v := d.Group.As4()
				nae.Bytes(daemonAttrMcastGroup, v[:])
			} else {
				v := d.Group.As16()
				nae.Bytes(daemonAttrMcastGroup6, v[:])
			}
		}
		if d.Port != 0 {
			nae.Uint16(daemonAttrMcastPort, d.Port)
		}
		if d.TTL != 0 {
			nae.Uint8(daemonAttrMcastTTL, d.TTL)
		}
		return nil
	})
	return ae.Encode()
}

// timeoutAttrs encodes a set-config command; zero fields are left out.
func timeoutAttrs(t Timeouts) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	if t.TCP != 0 {
		ae.Uint32(cmdAttrTimeoutTCP, uint32(t.TCP/time.Second))
	}
	if t.TCPFin != 0 {
		ae.Uint32(cmdAttrTimeoutTCPFin, uint32(t.TCPFin/time.Second))
	}
	if t.UDP != 0 {
		ae.Uint32(cmdAttrTimeoutUDP, uint32(t.UDP/time.Second))
	}
	return ae.Encode()
}
