package sched

import "hash/crc32"

// HAProxy's hash functions (src/hash.c), selected by "hash-type ... <fn>".

// bytesOrString lets the hashes run on request strings without copying.
type bytesOrString interface{ ~string | ~[]byte }

// HashSDBM is HAProxy's default "sdbm" hash.
func HashSDBM(b []byte) uint32 { return sdbm(b) }

// HashDJB2 is HAProxy's "djb2" hash.
func HashDJB2(b []byte) uint32 { return djb2(b) }

// HashWT6 is HAProxy's "wt6" hash.
func HashWT6(b []byte) uint32 { return wt6(b) }

// HashCRC32 is HAProxy's "crc32" hash, the IEEE CRC-32.
func HashCRC32(b []byte) uint32 { return crc32IEEE(b) }

func sdbm[T bytesOrString](b T) uint32 {
	var h uint32
	for i := 0; i < len(b); i++ {
		h = uint32(b[i]) + h<<6 + h<<16 - h
	}
	return h
}

func djb2[T bytesOrString](b T) uint32 {
	h := uint32(5381)
	for i := 0; i < len(b); i++ {
		h = h<<5 + h + uint32(b[i])
	}
	return h
}

func wt6[T bytesOrString](b T) uint32 {
	h0, h1 := uint32(0xa53c965a), uint32(0x5ca6953a)
	step0, step1 := uint32(6), uint32(18)
	for i := 0; i < len(b); i++ {
		t := uint32(b[i])
		h0 = ^(h0 ^ t)
		h1 = ^(h1 + t)
		t = h1<<step0 | h1>>(32-step0)
		h1 = h0<<step1 | h0>>(32-step1)
		h0 = t
		t = (h0>>16 ^ h1) & 0xffff
		step0 = t & 0x1f
		step1 = t >> 11
	}
	return h0 ^ h1
}

func crc32IEEE[T bytesOrString](b T) uint32 {
	crc := ^uint32(0)
	for i := 0; i < len(b); i++ {
		crc = crc32.IEEETable[byte(crc)^b[i]] ^ crc>>8
	}
	return ^crc
}

// FullHash is HAProxy's full_hash ("avalanche"): Bob Jenkins' 32-bit
// integer mix followed by a multiplication that spreads values over the
// whole 32-bit space.
func FullHash(a uint32) uint32 {
	a = (a + 0x7ed55d16) + (a << 12)
	a = (a ^ 0xc761c23c) ^ (a >> 19)
	a = (a + 0x165667b1) + (a << 5)
	a = (a + 0xd3a2646c) ^ (a << 9)
	a = (a + 0xfd7046c5) + (a << 3)
	a = (a ^ 0xb55a4f09) ^ (a >> 16)
	return a * 3221225473
}
