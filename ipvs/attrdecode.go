package ipvs

// Attribute readers shared by the decoders: fixed-size fields, strings,
// addresses, counters, and the allocation-free attrIter of the dump path.

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
)

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
