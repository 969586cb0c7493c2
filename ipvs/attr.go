package ipvs

import (
	"encoding/binary"
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
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error {
		if full {
			encodeService(nae, s)
		} else {
			encodeServiceID(nae, s)
		}
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

func u16be(ad *netlink.AttributeDecoder, name string, p *uint16) {
	field(ad, name, 2, func(b []byte) { *p = binary.BigEndian.Uint16(b) })
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

// addrBytes keeps an address attribute for decoding once the family is known.
func addrBytes(ad *netlink.AttributeDecoder, name string, p *[16]byte, seen *bool) {
	ad.Do(func(b []byte) error {
		if len(b) != 4 && len(b) != 16 {
			return decodeError(name, "length %d, want 4 or 16", len(b))
		}
		copy(p[:], b)
		*seen = true
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

// decodeStats reads a stats or stats64 nest; wide selects the 64-bit layout
// (every counter u64) over the legacy one (bytes u64, the rest u32).
func decodeStats(ad *netlink.AttributeDecoder, where string, wide bool, st *Stats) {
	ad.Nested(func(nad *netlink.AttributeDecoder) error {
		for nad.Next() {
			t := nad.Type()
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
				unknown(nad, where)
				continue
			}
			n := 4
			if wide || t == statsAttrInBytes || t == statsAttrOutBytes {
				n = 8
			}
			name := where + "." + statsName[t]
			if n == 8 {
				field(nad, name, 8, func(b []byte) { *p = native.Uint64(b) })
			} else {
				field(nad, name, 4, func(b []byte) { *p = uint64(native.Uint32(b)) })
			}
		}
		return nil
	})
}

var statsName = [...]string{"", "conns", "inpkts", "outpkts", "inbytes", "outbytes", "cps", "inpps", "outpps", "inbps", "outbps", "pad"}

// DecodeService decodes the attributes nested in IPVS_CMD_ATTR_SERVICE (the
// payload of that attribute) into a Service. Errors name the field.
func DecodeService(b []byte) (Service, error) {
	var s Service
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return s, decodeError("service", "%v", err)
	}
	var (
		af       uint16
		proto    uint16
		port     uint16
		addr     [16]byte
		haveAddr bool
		timeout  uint32
		netmask  [4]byte
		stats32  Stats
		have64   bool
	)
	for ad.Next() {
		switch ad.Type() {
		case svcAttrAF:
			u16(ad, "service.af", &af)
		case svcAttrProtocol:
			u16(ad, "service.protocol", &proto)
		case svcAttrAddr:
			addrBytes(ad, "service.addr", &addr, &haveAddr)
		case svcAttrPort:
			u16be(ad, "service.port", &port)
		case svcAttrFWMark:
			u32(ad, "service.fwmark", &s.FWMark)
		case svcAttrSchedName:
			str(ad, "service.sched_name", 15, &s.Scheduler)
		case svcAttrFlags:
			ad.Do(func(b []byte) error {
				if len(b) != 8 {
					return decodeError("service.flags", "length %d, want 8", len(b))
				}
				s.Flags = ServiceFlags(native.Uint32(b))
				return nil
			})
		case svcAttrTimeout:
			u32(ad, "service.timeout", &timeout)
		case svcAttrNetmask:
			field(ad, "service.netmask", 4, func(b []byte) { copy(netmask[:], b) })
		case svcAttrStats:
			decodeStats(ad, "service.stats", false, &stats32)
		case svcAttrPEName:
			str(ad, "service.pe_name", 16, &s.PersistenceEngine)
		case svcAttrStats64:
			decodeStats(ad, "service.stats64", true, &s.Stats)
			have64 = true
		default:
			unknown(ad, "service")
		}
	}
	if err := ad.Err(); err != nil {
		return Service{}, wrapDecode("service", err)
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
		s.Protocol = Protocol(proto)
		s.Addr = netip.AddrPortFrom(a, port)
	}
	s.Timeout = time.Duration(timeout) * time.Second
	if s.Family == IPv4 {
		s.Netmask = binary.BigEndian.Uint32(netmask[:])
	} else {
		s.Netmask = native.Uint32(netmask[:])
	}
	if !have64 {
		s.Stats = stats32
	}
	return s, nil
}

// DecodeDestination decodes the attributes nested in IPVS_CMD_ATTR_DEST into
// a Destination. svcFamily is the service's family, used when the kernel
// does not say the destination's own (kernels before 4.3).
func DecodeDestination(b []byte, svcFamily Family) (Destination, error) {
	var d Destination
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return d, decodeError("destination", "%v", err)
	}
	var (
		af       uint16
		port     uint16
		addr     [16]byte
		haveAddr bool
		fwd      uint32
		weight   uint32
		tunType  uint8
		tunFlags uint16
		stats32  Stats
		have64   bool
	)
	for ad.Next() {
		switch ad.Type() {
		case destAttrAddr:
			addrBytes(ad, "destination.addr", &addr, &haveAddr)
		case destAttrPort:
			u16be(ad, "destination.port", &port)
		case destAttrFwdMethod:
			u32(ad, "destination.fwd_method", &fwd)
		case destAttrWeight:
			u32(ad, "destination.weight", &weight)
		case destAttrUThresh:
			u32(ad, "destination.u_thresh", &d.UpperThreshold)
		case destAttrLThresh:
			u32(ad, "destination.l_thresh", &d.LowerThreshold)
		case destAttrActiveConns:
			u32(ad, "destination.active_conns", &d.ActiveConns)
		case destAttrInactConns:
			u32(ad, "destination.inact_conns", &d.InactiveConns)
		case destAttrPersistConns:
			u32(ad, "destination.persist_conns", &d.PersistentConns)
		case destAttrStats:
			decodeStats(ad, "destination.stats", false, &stats32)
		case destAttrAddrFamily:
			u16(ad, "destination.addr_family", &af)
		case destAttrStats64:
			decodeStats(ad, "destination.stats64", true, &d.Stats)
			have64 = true
		case destAttrTunType:
			u8(ad, "destination.tun_type", &tunType)
		case destAttrTunPort:
			u16be(ad, "destination.tun_port", &d.TunnelPort)
		case destAttrTunFlags:
			u16(ad, "destination.tun_flags", &tunFlags)
		default:
			unknown(ad, "destination")
		}
	}
	if err := ad.Err(); err != nil {
		return Destination{}, wrapDecode("destination", err)
	}
	if !haveAddr {
		return Destination{}, decodeError("destination.addr", "missing")
	}
	f := Family(af)
	if f == 0 {
		f = svcFamily
	}
	a, err := makeAddr("destination.addr", f, &addr)
	if err != nil {
		return Destination{}, err
	}
	d.Addr = netip.AddrPortFrom(a, port)
	d.Forward = ForwardMethod(fwd & 7)
	d.Weight = int(int32(weight))
	d.TunnelType = TunnelType(tunType)
	d.TunnelFlags = TunnelFlags(tunFlags)
	if !have64 {
		d.Stats = stats32
	}
	return d, nil
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

// decodeServiceMsg decodes a reply carrying one service.
func decodeServiceMsg(b []byte) (Service, error) {
	var s Service
	var found bool
	var derr error
	err := topAttrs(b, "service message", func(ad *netlink.AttributeDecoder) bool {
		if ad.Type() != cmdAttrService {
			return false
		}
		ad.Do(func(nb []byte) error {
			s, derr = DecodeService(nb)
			found = true
			return derr
		})
		return true
	})
	if err != nil {
		return Service{}, err
	}
	if !found {
		return Service{}, decodeError("service message", "no service attribute")
	}
	return s, nil
}

// decodeDestMsg decodes a reply carrying one destination.
func decodeDestMsg(b []byte, svcFamily Family) (Destination, error) {
	var d Destination
	var found bool
	err := topAttrs(b, "destination message", func(ad *netlink.AttributeDecoder) bool {
		if ad.Type() != cmdAttrDest {
			return false
		}
		ad.Do(func(nb []byte) error {
			var err error
			d, err = DecodeDestination(nb, svcFamily)
			found = true
			return err
		})
		return true
	})
	if err != nil {
		return Destination{}, err
	}
	if !found {
		return Destination{}, decodeError("destination message", "no destination attribute")
	}
	return d, nil
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
	var d Daemon
	var found bool
	err := topAttrs(b, "daemon message", func(ad *netlink.AttributeDecoder) bool {
		if ad.Type() != cmdAttrDaemon {
			return false
		}
		ad.Do(func(nb []byte) error {
			var err error
			d, err = decodeDaemon(nb)
			found = true
			return err
		})
		return true
	})
	if err != nil {
		return Daemon{}, err
	}
	if !found {
		return Daemon{}, decodeError("daemon message", "no daemon attribute")
	}
	return d, nil
}
