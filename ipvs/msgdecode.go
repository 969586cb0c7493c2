package ipvs

// Reply decoders: from a generic netlink message to the typed value.

import (
	"net/netip"
	"time"

	"github.com/mdlayher/netlink"
)

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
