package ipvs

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/mdlayher/netlink"
)

// Generic netlink family, commands and attributes of IPVS, from the kernel's
// include/uapi/linux/ip_vs.h.
const (
	genlName    = "IPVS"
	genlVersion = 1
)

// Commands.
const (
	cmdNewService = 1
	cmdSetService = 2
	cmdDelService = 3
	cmdGetService = 4
	cmdNewDest    = 5
	cmdSetDest    = 6
	cmdDelDest    = 7
	cmdGetDest    = 8
	cmdNewDaemon  = 9
	cmdDelDaemon  = 10
	cmdGetDaemon  = 11
	cmdSetConfig  = 12
	cmdGetConfig  = 13
	cmdSetInfo    = 14
	cmdGetInfo    = 15
	cmdZero       = 16
	cmdFlush      = 17
)

// cmdName names commands for errors.
var cmdName = map[uint8]string{
	cmdNewService: "new-service", cmdSetService: "set-service", cmdDelService: "del-service",
	cmdGetService: "get-service", cmdNewDest: "new-dest", cmdSetDest: "set-dest",
	cmdDelDest: "del-dest", cmdGetDest: "get-dest", cmdNewDaemon: "new-daemon",
	cmdDelDaemon: "del-daemon", cmdGetDaemon: "get-daemon", cmdSetConfig: "set-config",
	cmdGetConfig: "get-config", cmdGetInfo: "get-info", cmdZero: "zero", cmdFlush: "flush",
}

// Top-level attributes.
const (
	cmdAttrService       = 1
	cmdAttrDest          = 2
	cmdAttrDaemon        = 3
	cmdAttrTimeoutTCP    = 4
	cmdAttrTimeoutTCPFin = 5
	cmdAttrTimeoutUDP    = 6
)

// Service attributes.
const (
	svcAttrAF        = 1
	svcAttrProtocol  = 2
	svcAttrAddr      = 3
	svcAttrPort      = 4
	svcAttrFWMark    = 5
	svcAttrSchedName = 6
	svcAttrFlags     = 7
	svcAttrTimeout   = 8
	svcAttrNetmask   = 9
	svcAttrStats     = 10
	svcAttrPEName    = 11
	svcAttrStats64   = 12
)

// Destination attributes.
const (
	destAttrAddr         = 1
	destAttrPort         = 2
	destAttrFwdMethod    = 3
	destAttrWeight       = 4
	destAttrUThresh      = 5
	destAttrLThresh      = 6
	destAttrActiveConns  = 7
	destAttrInactConns   = 8
	destAttrPersistConns = 9
	destAttrStats        = 10
	destAttrAddrFamily   = 11
	destAttrStats64      = 12
	destAttrTunType      = 13
	destAttrTunPort      = 14
	destAttrTunFlags     = 15
)

// Sync daemon attributes.
const (
	daemonAttrState       = 1
	daemonAttrMcastIfn    = 2
	daemonAttrSyncID      = 3
	daemonAttrSyncMaxLen  = 4
	daemonAttrMcastGroup  = 5
	daemonAttrMcastGroup6 = 6
	daemonAttrMcastPort   = 7
	daemonAttrMcastTTL    = 8
)

// Stats attributes.
const (
	statsAttrConns    = 1
	statsAttrInPkts   = 2
	statsAttrOutPkts  = 3
	statsAttrInBytes  = 4
	statsAttrOutBytes = 5
	statsAttrCPS      = 6
	statsAttrInPPS    = 7
	statsAttrOutPPS   = 8
	statsAttrInBPS    = 9
	statsAttrOutBPS   = 10
	statsAttrPad      = 11
)

// Info attributes.
const (
	infoAttrVersion     = 1
	infoAttrConnTabSize = 2
)

var native = binary.NativeEndian

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

// serviceAttrs encodes the top-level attributes of a service command.
func serviceAttrs(s *Service, full bool) ([]byte, error) {
	if !full {
		return appendServiceIDAttrs(nil, s), nil
	}
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error {
		encodeService(nae, s)
		return nil
	})
	return ae.Encode()
}

// destAttrs encodes the top-level attributes of a destination command.
func destAttrs(s *Service, d *Destination, full bool) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error {
		encodeServiceID(nae, s)
		return nil
	})
	ae.Nested(cmdAttrDest, func(nae *netlink.AttributeEncoder) error {
		if full {
			encodeDest(nae, d)
		} else {
			encodeDestID(nae, d)
		}
		return nil
	})
	return ae.Encode()
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

// --- decoding ---

// field reads one fixed-size attribute, failing with the field's name when
// the length is wrong.
func field(ad *netlink.AttributeDecoder, name string, n int, fn func(b []byte)) {
	ad.Do(func(b []byte) error {
		if len(b) != n {
			return decodeError(name, "length %d, want %d", len(b), n)
		}
		fn(b)
		return nil
	})
}

func u8(ad *netlink.AttributeDecoder, name string, p *uint8) {
	field(ad, name, 1, func(b []byte) { *p = b[0] })
}

func u16(ad *netlink.AttributeDecoder, name string, p *uint16) {
	field(ad, name, 2, func(b []byte) { *p = native.Uint16(b) })
}

func u32(ad *netlink.AttributeDecoder, name string, p *uint32) {
	field(ad, name, 4, func(b []byte) { *p = native.Uint32(b) })
}

// str reads a NUL-terminated string attribute of at most max bytes.
func str(ad *netlink.AttributeDecoder, name string, max int, p *string) {
	ad.Do(func(b []byte) error {
		for i, c := range b {
			if c == 0 {
				b = b[:i]
				break
			}
		}
		if len(b) > max {
			return decodeError(name, "string of %d bytes, at most %d allowed", len(b), max)
		}
		*p = string(b)
		return nil
	})
}

// makeAddr interprets a kernel address union in the given family.
func makeAddr(name string, f Family, b *[16]byte) (netip.Addr, error) {
	switch f {
	case IPv4:
		return netip.AddrFrom4([4]byte(b[:4])), nil
	case IPv6:
		return netip.AddrFrom16(*b), nil
	}
	return netip.Addr{}, decodeError(name, "unknown address family %d", f)
}

// unknown fails on an attribute type the decoder does not know, so that a
// malformed or misdirected message is reported rather than half-read.
func unknown(ad *netlink.AttributeDecoder, where string) {
	t := ad.Type()
	ad.Do(func([]byte) error { return decodeError(where, "unknown attribute type %d", t) })
}

// attrIter walks netlink attributes without copying them. The dump path
// decodes tens of thousands of destinations, and netlink.AttributeDecoder
// allocates a copy of every attribute; this iterator allocates nothing.
type attrIter struct {
	b    []byte
	typ  uint16
	data []byte
	err  error
}

// next advances to the next attribute, validating its length. It and the
// fixed-size readers below keep their failure paths out of line, so that
// they inline: the dump path runs them some forty times per destination.
func (it *attrIter) next() bool {
	if len(it.b) < 4 || it.err != nil {
		if len(it.b) != 0 && it.err == nil {
			it.badHeader()
		}
		return false
	}
	l := int(native.Uint16(it.b))
	it.typ = native.Uint16(it.b[2:]) & 0x3fff
	if l < 4 || l > len(it.b) {
		it.badLength(l)
		return false
	}
	it.data = it.b[4:l]
	it.b = it.b[min((l+3)&^3, len(it.b)):]
	return true
}

//go:noinline
func (it *attrIter) badHeader() {
	it.err = fmt.Errorf("truncated attribute header (%d bytes)", len(it.b))
}

//go:noinline
func (it *attrIter) badLength(l int) {
	it.err = fmt.Errorf("attribute %d: length %d with %d bytes left", it.typ, l, len(it.b))
}

func (it *attrIter) fail(format string, args ...any) {
	if it.err == nil {
		it.err = fmt.Errorf(format, args...)
	}
}

// badSize fails on an attribute of the wrong length for its type.
//
//go:noinline
func (it *attrIter) badSize(n int) {
	it.fail("length %d, want %d", len(it.data), n)
}

func (it *attrIter) fixed(n int) []byte {
	if len(it.data) != n {
		it.badSize(n)
		return nil
	}
	return it.data
}

func (it *attrIter) u8() uint8 {
	if len(it.data) == 1 {
		return it.data[0]
	}
	it.badSize(1)
	return 0
}

func (it *attrIter) u16() uint16 {
	if len(it.data) == 2 {
		return native.Uint16(it.data)
	}
	it.badSize(2)
	return 0
}

func (it *attrIter) be16() uint16 {
	if len(it.data) == 2 {
		return binary.BigEndian.Uint16(it.data)
	}
	it.badSize(2)
	return 0
}

func (it *attrIter) u32() uint32 {
	if len(it.data) == 4 {
		return native.Uint32(it.data)
	}
	it.badSize(4)
	return 0
}

func (it *attrIter) u64() uint64 {
	if len(it.data) == 8 {
		return native.Uint64(it.data)
	}
	it.badSize(8)
	return 0
}

// str reads a NUL-terminated string of at most max bytes.
func (it *attrIter) str(max int) string {
	b := it.data
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	if len(b) > max {
		it.fail("string of %d bytes, at most %d allowed", len(b), max)
		return ""
	}
	for _, n := range commonNames {
		if string(b) == n {
			return n // no copy: every service of a dump names one
		}
	}
	return string(b)
}

// commonNames are the kernel's schedulers and persistence engine, which
// str returns without allocating.
var commonNames = [...]string{"wlc", "rr", "wrr", "lc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos", "sip"}

// addr reads a kernel address union (4 or 16 bytes).
func (it *attrIter) addr(p *[16]byte) bool {
	if len(it.data) != 4 && len(it.data) != 16 {
		it.fail("length %d, want 4 or 16", len(it.data))
		return false
	}
	copy(p[:], it.data)
	return true
}

func (it *attrIter) unknown() { it.fail("unknown attribute type %d", it.typ) }

// failure names the attribute the iterator stopped at.
func (it *attrIter) failure(where string, names []string) error {
	if t := int(it.typ); t > 0 && t < len(names) {
		return decodeError(where+"."+names[t], "%v", it.err)
	}
	return decodeError(where, "%v", it.err)
}

// decodeStats reads a stats or stats64 nest; wide selects the 64-bit layout
// (every counter u64) over the legacy one (bytes u64, the rest u32).
func decodeStats(b []byte, where string, wide bool, st *Stats) error {
	it := attrIter{b: b}
	for it.next() {
		t := it.typ
		var p *uint64
		switch t {
		case statsAttrConns:
			p = &st.Conns
		case statsAttrInPkts:
			p = &st.InPkts
		case statsAttrOutPkts:
			p = &st.OutPkts
		case statsAttrInBytes:
			p = &st.InBytes
		case statsAttrOutBytes:
			p = &st.OutBytes
		case statsAttrCPS:
			p = &st.CPS
		case statsAttrInPPS:
			p = &st.InPPS
		case statsAttrOutPPS:
			p = &st.OutPPS
		case statsAttrInBPS:
			p = &st.InBPS
		case statsAttrOutBPS:
			p = &st.OutBPS
		case statsAttrPad:
			continue
		default:
			it.unknown()
			continue
		}
		if wide || t == statsAttrInBytes || t == statsAttrOutBytes {
			*p = it.u64()
		} else {
			*p = uint64(it.u32())
		}
	}
	if it.err != nil {
		return it.failure(where, statsName[:])
	}
	return nil
}

// decodeStatsOf fills st from the 64-bit nest when the kernel sent one,
// else from the legacy 32-bit nest.
func decodeStatsOf(st *Stats, where64, where32 string, wide, legacy []byte) error {
	if wide != nil {
		return decodeStats(wide, where64, true, st)
	}
	if legacy != nil {
		return decodeStats(legacy, where32, false, st)
	}
	return nil
}

var statsName = [...]string{"", "conns", "inpkts", "outpkts", "inbytes", "outbytes", "cps", "inpps", "outpps", "inbps", "outbps", "pad"}

var svcAttrName = [...]string{"", "af", "protocol", "addr", "port", "fwmark", "sched_name", "flags",
	"timeout", "netmask", "stats", "pe_name", "stats64"}

var destAttrName = [...]string{"", "addr", "port", "fwd_method", "weight", "u_thresh", "l_thresh",
	"active_conns", "inact_conns", "persist_conns", "stats", "addr_family", "stats64", "tun_type",
	"tun_port", "tun_flags"}

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

// decodeDaemon decodes the attributes nested in IPVS_CMD_ATTR_DAEMON.
func decodeDaemon(b []byte) (Daemon, error) {
	var d Daemon
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return d, decodeError("daemon", "%v", err)
	}
	var state uint32
	for ad.Next() {
		switch ad.Type() {
		case daemonAttrState:
			u32(ad, "daemon.state", &state)
		case daemonAttrMcastIfn:
			str(ad, "daemon.mcast_ifn", 15, &d.Interface)
		case daemonAttrSyncID:
			u32(ad, "daemon.sync_id", &d.SyncID)
		case daemonAttrSyncMaxLen:
			u16(ad, "daemon.sync_maxlen", &d.MaxLen)
		case daemonAttrMcastGroup:
			field(ad, "daemon.mcast_group", 4, func(b []byte) { d.Group = netip.AddrFrom4([4]byte(b)) })
		case daemonAttrMcastGroup6:
			field(ad, "daemon.mcast_group6", 16, func(b []byte) { d.Group = netip.AddrFrom16([16]byte(b)) })
		case daemonAttrMcastPort:
			u16(ad, "daemon.mcast_port", &d.Port)
		case daemonAttrMcastTTL:
			u8(ad, "daemon.mcast_ttl", &d.TTL)
		default:
			unknown(ad, "daemon")
		}
	}
	if err := ad.Err(); err != nil {
		return Daemon{}, wrapDecode("daemon", err)
	}
	d.State = DaemonState(state)
	return d, nil
}

// wrapDecode makes sure a decoder error wraps ErrDecode and names its place.
func wrapDecode(where string, err error) error {
	if isDecode(err) {
		return err
	}
	return decodeError(where, "%v", err)
}

func isDecode(err error) bool {
	for e := err; e != nil; {
		if e == ErrDecode {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

// topAttrs walks the top-level attributes of a reply, calling fn for each
// type it wants; fn returns false to reject an attribute type as unknown.
func topAttrs(b []byte, where string, fn func(ad *netlink.AttributeDecoder) bool) error {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return decodeError(where, "%v", err)
	}
	for ad.Next() {
		if !fn(ad) {
			unknown(ad, where)
		}
	}
	if err := ad.Err(); err != nil {
		return wrapDecode(where, err)
	}
	return nil
}

// nestedMsg returns the payload of the one attribute of type want in a
// reply, rejecting other attribute types.
func nestedMsg(b []byte, where string, want uint16) ([]byte, error) {
	var out []byte
	it := attrIter{b: b}
	for it.next() {
		if it.typ != want {
			it.unknown()
			continue
		}
		out = it.data
	}
	if it.err != nil {
		return nil, decodeError(where, "%v", it.err)
	}
	if out == nil {
		return nil, decodeError(where, "no attribute %d", want)
	}
	return out, nil
}

// decodeServiceMsg decodes a reply carrying one service.
func decodeServiceMsg(b []byte) (Service, error) {
	nb, err := nestedMsg(b, "service message", cmdAttrService)
	if err != nil {
		return Service{}, err
	}
	return DecodeService(nb)
}

// decodeDestMsg decodes a reply carrying one destination.
func decodeDestMsg(b []byte, svcFamily Family) (Destination, error) {
	var d Destination
	err := decodeDestMsgInto(b, svcFamily, &d)
	return d, err
}

// decodeDestMsgInto is decodeDestMsg writing into *d, which the caller
// has zeroed.
func decodeDestMsgInto(b []byte, svcFamily Family, d *Destination) error {
	nb, err := nestedMsg(b, "destination message", cmdAttrDest)
	if err != nil {
		return err
	}
	return decodeDestination(nb, svcFamily, d)
}

// decodeInfo decodes a get-info reply.
func decodeInfo(b []byte) (Info, error) {
	var i Info
	err := topAttrs(b, "info", func(ad *netlink.AttributeDecoder) bool {
		switch ad.Type() {
		case infoAttrVersion:
			u32(ad, "info.version", &i.Version)
		case infoAttrConnTabSize:
			u32(ad, "info.conn_tab_size", &i.ConnTableSize)
		default:
			return false
		}
		return true
	})
	return i, err
}

// decodeTimeouts decodes a get-config reply.
func decodeTimeouts(b []byte) (Timeouts, error) {
	var tcp, fin, udp uint32
	err := topAttrs(b, "config", func(ad *netlink.AttributeDecoder) bool {
		switch ad.Type() {
		case cmdAttrTimeoutTCP:
			u32(ad, "config.timeout_tcp", &tcp)
		case cmdAttrTimeoutTCPFin:
			u32(ad, "config.timeout_tcp_fin", &fin)
		case cmdAttrTimeoutUDP:
			u32(ad, "config.timeout_udp", &udp)
		default:
			return false
		}
		return true
	})
	return Timeouts{
		TCP:    time.Duration(tcp) * time.Second,
		TCPFin: time.Duration(fin) * time.Second,
		UDP:    time.Duration(udp) * time.Second,
	}, err
}

// decodeDaemonMsg decodes a get-daemon reply message.
func decodeDaemonMsg(b []byte) (Daemon, error) {
	nb, err := nestedMsg(b, "daemon message", cmdAttrDaemon)
	if err != nil {
		return Daemon{}, err
	}
	return decodeDaemon(nb)
}
