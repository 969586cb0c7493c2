package ipvs

// The public decoders, for callers holding raw IPVS attributes.

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// DecodeService decodes the attributes nested in IPVS_CMD_ATTR_SERVICE (the
// payload of that attribute) into a Service. Errors name the field.
func DecodeService(b []byte) (Service, error) {
	var (
		s               Service
		af, proto, port uint16
		addr            [16]byte
		haveAddr        bool
		timeout         uint32
		netmask         []byte
		legacy, wide    []byte
	)
	it := attrIter{b: b}
	for it.next() {
		switch it.typ {
		case svcAttrAF:
			af = it.u16()
		case svcAttrProtocol:
			proto = it.u16()
		case svcAttrAddr:
			haveAddr = it.addr(&addr)
		case svcAttrPort:
			port = it.be16()
		case svcAttrFWMark:
			s.FWMark = it.u32()
		case svcAttrSchedName:
			s.Scheduler = it.str(15)
		case svcAttrFlags:
			if f := it.fixed(8); f != nil {
				s.Flags = ServiceFlags(native.Uint32(f))
			}
		case svcAttrTimeout:
			timeout = it.u32()
		case svcAttrNetmask:
			netmask = it.fixed(4)
		case svcAttrStats:
			legacy = it.data
		case svcAttrPEName:
			s.PersistenceEngine = it.str(16)
		case svcAttrStats64:
			wide = it.data
		default:
			it.unknown()
		}
	}
	if it.err != nil {
		return Service{}, it.failure("service", svcAttrName[:])
	}
	if err := decodeStatsOf(&s.Stats, "service.stats64", "service.stats", wide, legacy); err != nil {
		return Service{}, err
	}
	s.Family = Family(af)
	if s.Family != IPv4 && s.Family != IPv6 {
		return Service{}, decodeError("service.af", "missing or unknown family %d", af)
	}
	if s.FWMark == 0 {
		if !haveAddr {
			return Service{}, decodeError("service.addr", "missing (and no fwmark)")
		}
		a, err := makeAddr("service.addr", s.Family, &addr)
		if err != nil {
			return Service{}, err
		}
		if proto > 0xff {
			return Service{}, decodeError("service.protocol", "%d is not an IP protocol number", proto)
		}
		s.Protocol = Protocol(proto)
		s.Addr = netip.AddrPortFrom(a, port)
	}
	s.Timeout = time.Duration(timeout) * time.Second
	if netmask != nil {
		// The kernel's __be32: an IPv4 mask in network order, an IPv6
		// prefix length as a plain number.
		if s.Family == IPv4 {
			s.Netmask = binary.BigEndian.Uint32(netmask)
		} else {
			s.Netmask = native.Uint32(netmask)
		}
	}
	return s, nil
}

// DecodeDestination decodes the attributes nested in IPVS_CMD_ATTR_DEST into
// a Destination. svcFamily is the service's family, used when the kernel
// does not say the destination's own (kernels before 4.3).
func DecodeDestination(b []byte, svcFamily Family) (Destination, error) {
	var d Destination
	if err := decodeDestination(b, svcFamily, &d); err != nil {
		return Destination{}, err
	}
	return d, nil
}

// decodeDestination is DecodeDestination writing into *d, which the caller
// has zeroed; on failure *d holds a partial result.
func decodeDestination(b []byte, svcFamily Family, d *Destination) error {
	var (
		af, port     uint16
		addr         [16]byte
		haveAddr     bool
		fwd, weight  uint32
		legacy, wide []byte
	)
	it := attrIter{b: b}
	for it.next() {
		switch it.typ {
		case destAttrAddr:
			haveAddr = it.addr(&addr)
		case destAttrPort:
			port = it.be16()
		case destAttrFwdMethod:
			fwd = it.u32()
		case destAttrWeight:
			weight = it.u32()
		case destAttrUThresh:
			d.UpperThreshold = it.u32()
		case destAttrLThresh:
			d.LowerThreshold = it.u32()
		case destAttrActiveConns:
			d.ActiveConns = it.u32()
		case destAttrInactConns:
			d.InactiveConns = it.u32()
		case destAttrPersistConns:
			d.PersistentConns = it.u32()
		case destAttrStats:
			legacy = it.data
		case destAttrAddrFamily:
			af = it.u16()
		case destAttrStats64:
			wide = it.data
		case destAttrTunType:
			d.TunnelType = TunnelType(it.u8())
		case destAttrTunPort:
			d.TunnelPort = it.be16()
		case destAttrTunFlags:
			d.TunnelFlags = TunnelFlags(it.u16())
		default:
			it.unknown()
		}
	}
	if it.err != nil {
		return it.failure("destination", destAttrName[:])
	}
	if err := decodeStatsOf(&d.Stats, "destination.stats64", "destination.stats", wide, legacy); err != nil {
		return err
	}
	if !haveAddr {
		return decodeError("destination.addr", "missing")
	}
	f := Family(af)
	if f == 0 {
		f = svcFamily
	}
	a, err := makeAddr("destination.addr", f, &addr)
	if err != nil {
		return err
	}
	d.Addr = netip.AddrPortFrom(a, port)
	d.Forward = ForwardMethod(fwd & 7)
	d.Weight = int(int32(weight))
	return nil
}
