package vrrp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
)

// What the kernel reports when an address, route or rule goes away, and
// the keys that match it to the entries a Router or KeepStatic put in
// place (keepalived's address_is_ours, route_is_ours and rule_is_ours);
// and the links and addresses coming and going that an instance's
// interface and source-address trackers follow (ifwatch.go).
// The decoding is pure so that it can be fuzzed; the socket is in
// netwatch_linux.go.

// Kinds of netKey.
const (
	keyAddr uint8 = iota + 1
	keyRoute
	keyRule
	keyLink
)

// rtnetlink message types (linux/rtnetlink.h), spelt out here so that
// the decoder builds everywhere.
const (
	rtmNewLink  = 16
	rtmDelLink  = 17
	rtmNewAddr  = 20
	rtmDelAddr  = 21
	rtmNewRoute = 24
	rtmDelRoute = 25
	rtmNewRule  = 32
	rtmDelRule  = 33
)

// netKey identifies an address (interface and address; keepalived
// compares no prefix length), a route (family, table, destination,
// metric, TOS and output interface) or a rule (family, table, priority,
// source and destination).
type netKey struct {
	kind    uint8
	family  uint8
	tos     uint8
	ifindex int32
	table   uint32
	metric  uint32 // a route's metric, a rule's priority
	dst     netip.Prefix
	src     netip.Prefix
}

// netChange is one decoded rtnetlink message.
type netChange struct {
	key      netKey
	del      bool
	protocol uint8  // a route's or rule's protocol (0: none reported)
	name     string // a link's name
	up       bool   // a link is up (linkUp)
}

const (
	afInet  = 2
	afInet6 = 10
)

// attrs walks rtnetlink attributes (struct rtattr, 4-byte aligned) and
// calls fn with each attribute's type and payload; it stops at the first
// malformed one.
func attrs(b []byte, fn func(typ uint16, v []byte)) {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		if l < 4 || l > len(b) {
			return
		}
		fn(binary.NativeEndian.Uint16(b[2:])&0x3fff, b[4:l])
		l = (l + 3) &^ 3
		if l > len(b) {
			return
		}
		b = b[l:]
	}
}

// prefixOf is the address in v (4 or 16 bytes for the family) with bits
// bits; ok is false when they do not fit.
func prefixOf(family uint8, v []byte, bits uint8) (netip.Prefix, bool) {
	var a netip.Addr
	switch {
	case family == afInet && len(v) == 4:
		a = netip.AddrFrom4([4]byte(v))
	case family == afInet6 && len(v) == 16:
		a = netip.AddrFrom16([16]byte(v))
	default:
		return netip.Prefix{}, false
	}
	p, err := a.Prefix(int(bits))
	if err != nil {
		return netip.Prefix{}, false
	}
	return p, true
}

// anyPrefix is the zero-length prefix of a family (a route's default
// destination, a rule's "all").
func anyPrefix(family uint8) netip.Prefix {
	if family == afInet6 {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
}

// linkUp tells whether a link with interface flags flags (IFF_*) and
// operational state oper (IF_OPER_*) counts as up: administratively up
// and not reported down, lower-layer down or not present.
func linkUp(flags uint32, oper uint8) bool {
	const (
		iffUp                = 0x1
		ifOperNotPresent     = 1
		ifOperDown           = 2
		ifOperLowerLayerDown = 3
	)
	return flags&iffUp != 0 && oper != ifOperNotPresent && oper != ifOperDown && oper != ifOperLowerLayerDown
}

// decodeNetChange decodes the body of an rtnetlink message of type typ:
// a link, address, route or rule being added (or changed) or deleted. ok
// is false for other messages, other families and malformed ones.
func decodeNetChange(typ uint16, b []byte) (c netChange, ok bool) {
	switch typ {
	case rtmNewLink, rtmDelLink:
		// struct ifinfomsg: family, pad, type, index, flags, change.
		if len(b) < 16 {
			return c, false
		}
		c.key = netKey{kind: keyLink, ifindex: int32(binary.NativeEndian.Uint32(b[4:]))}
		var oper uint8
		attrs(b[16:], func(t uint16, v []byte) {
			switch t {
			case 3: // IFLA_IFNAME, NUL-terminated
				if i := bytes.IndexByte(v, 0); i >= 0 {
					v = v[:i]
				}
				c.name = string(v)
			case 16: // IFLA_OPERSTATE
				if len(v) == 1 {
					oper = v[0]
				}
			}
		})
		c.del, c.up = typ == rtmDelLink, linkUp(binary.NativeEndian.Uint32(b[8:]), oper)
		return c, c.name != ""
	case rtmNewAddr, rtmDelAddr:
		// struct ifaddrmsg: family, prefixlen, flags, scope, index.
		if len(b) < 8 {
			return c, false
		}
		fam := b[0]
		c.key = netKey{kind: keyAddr, family: fam, ifindex: int32(binary.NativeEndian.Uint32(b[4:]))}
		var local, addr netip.Prefix
		attrs(b[8:], func(t uint16, v []byte) {
			switch t {
			case 1: // IFA_ADDRESS
				addr, _ = prefixOf(fam, v, uint8(len(v)*8))
			case 2: // IFA_LOCAL: the address itself on point-to-point links
				local, _ = prefixOf(fam, v, uint8(len(v)*8))
			}
		})
		if local.IsValid() {
			addr = local
		}
		c.key.dst, c.del = addr, typ == rtmDelAddr
		return c, addr.IsValid()
	case rtmNewRoute, rtmDelRoute:
		// struct rtmsg: family, dst_len, src_len, tos, table, protocol,
		// scope, type, flags.
		if len(b) < 12 {
			return c, false
		}
		fam := b[0]
		if fam != afInet && fam != afInet6 {
			return c, false
		}
		c.key = netKey{kind: keyRoute, family: fam, tos: b[3], table: uint32(b[4]), dst: anyPrefix(fam)}
		c.protocol = b[5]
		good := true
		attrs(b[12:], func(t uint16, v []byte) {
			switch t {
			case 1: // RTA_DST
				c.key.dst, good = prefixOf(fam, v, b[1])
			case 4: // RTA_OIF
				if len(v) == 4 {
					c.key.ifindex = int32(binary.NativeEndian.Uint32(v))
				}
			case 6: // RTA_PRIORITY
				if len(v) == 4 {
					c.key.metric = binary.NativeEndian.Uint32(v)
				}
			case 15: // RTA_TABLE
				if len(v) == 4 {
					c.key.table = binary.NativeEndian.Uint32(v)
				}
			}
		})
		c.del = typ == rtmDelRoute
		return c, good
	case rtmNewRule, rtmDelRule:
		// struct fib_rule_hdr: family, dst_len, src_len, tos, table,
		// res1, res2, action, flags.
		if len(b) < 12 {
			return c, false
		}
		fam := b[0]
		if fam != afInet && fam != afInet6 {
			return c, false
		}
		c.key = netKey{kind: keyRule, family: fam, tos: b[3], table: uint32(b[4])}
		good := true
		attrs(b[12:], func(t uint16, v []byte) {
			switch t {
			case 1: // FRA_DST
				c.key.dst, good = prefixOf(fam, v, b[1])
			case 2: // FRA_SRC
				c.key.src, good = prefixOf(fam, v, b[2])
			case 6: // FRA_PRIORITY
				if len(v) == 4 {
					c.key.metric = binary.NativeEndian.Uint32(v)
				}
			case 15: // FRA_TABLE
				if len(v) == 4 {
					c.key.table = binary.NativeEndian.Uint32(v)
				}
			case 21: // FRA_PROTOCOL
				if len(v) == 1 {
					c.protocol = v[0]
				}
			}
		})
		c.del = typ == rtmDelRule
		return c, good
	}
	return c, false
}

// addrKey is the key of address p on the interface with index ifindex.
func addrKey(ifindex int, p netip.Prefix) netKey {
	a := p.Addr()
	fam := uint8(afInet)
	if a.Is6() {
		fam = afInet6
	}
	return netKey{kind: keyAddr, family: fam, ifindex: int32(ifindex), dst: netip.PrefixFrom(a, a.BitLen())}
}

// routeKey is the key of r out of the interface with index ifindex (0:
// the kernel picks it, and a deletion matches whatever it picked).
func routeKey(r Route, ifindex int) netKey {
	fam := uint8(afInet)
	if r.Dst.Addr().Is6() {
		fam = afInet6
	}
	t := uint32(r.Table)
	if t == 0 {
		t = 254 // RT_TABLE_MAIN
	}
	return netKey{kind: keyRoute, family: fam, ifindex: int32(ifindex), table: t, metric: uint32(r.Metric), dst: r.Dst.Masked()}
}

// ruleKey is the key of r; ipv6 gives the family of a rule with neither
// From nor To. A rule whose priority the kernel chose is matched without
// it.
func ruleKey(r Rule, ipv6 bool) netKey {
	if r.From.IsValid() {
		ipv6 = r.From.Addr().Is6()
	} else if r.To.IsValid() {
		ipv6 = r.To.Addr().Is6()
	}
	fam := uint8(afInet)
	if ipv6 {
		fam = afInet6
	}
	// The kernel reports no FRA_SRC / FRA_DST for "all".
	all := func(p netip.Prefix) netip.Prefix {
		if !p.IsValid() || p.Bits() == 0 {
			return netip.Prefix{}
		}
		return p.Masked()
	}
	return netKey{kind: keyRule, family: fam, table: uint32(r.Table), metric: uint32(r.Priority), dst: all(r.To), src: all(r.From)}
}

// candidates are the keys a deletion may have been registered under: a
// route as reported and without its interface (one the kernel chose), a
// rule as reported and without its priority (one the kernel chose).
func (k netKey) candidates() []netKey {
	switch k.kind {
	case keyRoute:
		if k.ifindex != 0 {
			k2 := k
			k2.ifindex = 0
			return []netKey{k, k2}
		}
	case keyRule:
		if k.metric != 0 {
			k2 := k
			k2.metric = 0
			return []netKey{k, k2}
		}
	}
	return []netKey{k}
}

// String names the entry for logs.
func (k netKey) String() string {
	switch k.kind {
	case keyAddr:
		return fmt.Sprintf("address %v (ifindex %d)", k.dst.Addr(), k.ifindex)
	case keyRoute:
		return fmt.Sprintf("route %v table %d metric %d", k.dst, k.table, k.metric)
	case keyRule:
		return fmt.Sprintf("rule from %v to %v table %d priority %d", k.src, k.dst, k.table, k.metric)
	case keyLink:
		return fmt.Sprintf("link (ifindex %d)", k.ifindex)
	}
	return "?"
}
