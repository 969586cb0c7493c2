package sched

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// hash32 is the kernel's hash_32: multiply by the golden ratio and keep the
// top bits.
func hash32(v uint32, nbits uint) uint32 {
	return (v * 0x61C88647) >> (32 - nbits)
}

// fold is ntohl(addr_fold): an IPv4 address as a number, an IPv6 address as
// the XOR of its four 32-bit words.
func fold(a netip.Addr) uint32 {
	if a.Is4() || a.Is4In6() {
		b := a.Unmap().As4()
		return binary.BigEndian.Uint32(b[:])
	}
	b := a.As16()
	return binary.BigEndian.Uint32(b[0:]) ^ binary.BigEndian.Uint32(b[4:]) ^
		binary.BigEndian.Uint32(b[8:]) ^ binary.BigEndian.Uint32(b[12:])
}

// hsiphashKey is the kernel's hsiphash_key_t on a 64-bit machine.
type hsiphashKey [2]uint64

// hsiphash32 is hsiphash(&v, 4, key) on x86-64, where "half" SipHash is
// SipHash-1-3 with 64-bit lanes truncated to 32 bits (lib/siphash.c,
// BITS_PER_LONG == 64). v is hashed as its 4 little-endian bytes.
func hsiphash32(v uint32, k *hsiphashKey) uint32 {
	v0 := uint64(0x736f6d6570736575) ^ k[0]
	v1 := uint64(0x646f72616e646f6d) ^ k[1]
	v2 := uint64(0x6c7967656e657261) ^ k[0]
	v3 := uint64(0x7465646279746573) ^ k[1]
	b := uint64(4)<<56 | uint64(v)
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	v3 ^= b
	round()
	v0 ^= b
	v2 ^= 0xff
	round()
	round()
	round()
	return uint32(v0 ^ v1 ^ v2 ^ v3)
}

// portOf is ip_vs_{sh,mh}_get_port: the source port for TCP, UDP and SCTP,
// 0 otherwise.
func portOf(k *Key) uint16 {
	switch k.Proto {
	case TCP, UDP, SCTP:
		return k.Src.Port()
	}
	return 0
}
