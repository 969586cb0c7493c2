package keepalivedconf

import (
	"encoding/binary"
	"math/bits"
)

// Sum is a fingerprint of a byte string: four 64-bit lanes, each folding
// every fourth 8-byte word of it with an xor, a rotation and a multiply
// by an odd constant. Each step is a bijection of the lane for a given
// word and of the word for a given lane, so two strings of one length
// that differ in a single word (a weight edited in place) always have
// different sums; other differences give equal sums with a chance of
// about 2^-64 per lane for accidental edits (it is no defence against a
// string built to collide). It uses only integer instructions: in a
// guest without hardware virtualization, the AES and vector instructions
// that Go's own hashes use are emulated and several times slower.
type Sum [4]uint64

// sumPrime is an odd 64-bit constant (xxhash's PRIME64_1).
const sumPrime = 0x9E3779B185EBCA87

// SumBytes returns b's Sum.
func SumBytes(b []byte) Sum {
	s := Sum{1, 2, 3, uint64(len(b))}
	le := binary.LittleEndian
	for len(b) >= 32 {
		s[0] = bits.RotateLeft64(s[0]^le.Uint64(b), 31) * sumPrime
		s[1] = bits.RotateLeft64(s[1]^le.Uint64(b[8:]), 31) * sumPrime
		s[2] = bits.RotateLeft64(s[2]^le.Uint64(b[16:]), 31) * sumPrime
		s[3] = bits.RotateLeft64(s[3]^le.Uint64(b[24:]), 31) * sumPrime
		b = b[32:]
	}
	for i := 0; len(b) > 0; i++ {
		var w uint64
		if len(b) >= 8 {
			w, b = le.Uint64(b), b[8:]
		} else {
			// The last bytes, with a 1 after them: "a" and "a\x00"
			// differ (the length is in the seed too).
			var x [8]byte
			x[copy(x[:], b)] = 1
			w, b = le.Uint64(x[:]), nil
		}
		s[i] = bits.RotateLeft64(s[i]^w, 31) * sumPrime
	}
	return s
}

// Sums fingerprints a file by segments, for DiffSums: segment i is
// [Ends[i-1], Ends[i]) of the file (Ends[-1] being 0), the last one
// ending at the file's size. It is what a reader keeps of a large file
// in place of its bytes to find, later, which segments changed: 32
// bytes a segment.
type Sums struct {
	Ends []int
	Sums []Sum
}

// NewSums returns the Sums of data's segments ending at ends: each at
// least the one before, the last len(data).
func NewSums(data []byte, ends []int) *Sums {
	s := &Sums{Ends: ends, Sums: make([]Sum, len(ends))}
	for i := range ends {
		lo, hi := s.Span(i)
		s.Sums[i] = SumBytes(data[lo:hi])
	}
	return s
}

// Size is the size of the file s fingerprints.
func (s *Sums) Size() int {
	if len(s.Ends) == 0 {
		return 0
	}
	return s.Ends[len(s.Ends)-1]
}

// Span returns segment i's byte range.
func (s *Sums) Span(i int) (lo, hi int) {
	if i > 0 {
		lo = s.Ends[i-1]
	}
	return lo, s.Ends[i]
}

// Replace makes seg segment i's bytes: its sum, and the segments after
// it moved by the difference in length.
func (s *Sums) Replace(i int, seg []byte) {
	lo, hi := s.Span(i)
	delta := len(seg) - (hi - lo)
	s.Sums[i] = SumBytes(seg)
	for j := i; j < len(s.Ends); j++ {
		s.Ends[j] += delta
	}
}

// SumChange is how a file differs from the one a Sums fingerprinted:
// its segments before First and from End on are there, the latter moved
// by the difference in size; Changed is what the file has in place of
// the segments [First, End) (First == End: bytes inserted between two
// segments). A file that equals the fingerprinted one has First and End
// both the number of segments and no Changed bytes.
type SumChange struct {
	First, End int
	Changed    []byte
	// Size is the file's size.
	Size int
}

// DiffSums compares the file name with s, the Sums of bytes read from
// it before, and returns which segments differ: their bytes are copied,
// appended to buf[:0] (reusing its capacity), the rest only summed. It
// checks the file as ReadFile does (a regular file within
// Limits.MaxFileSize), and reads a large one through a read-only mapping
// as DiffFile does (for the same reasons: read(2)'s copy is as slow as
// the pass over the bytes in a guest without hardware virtualization).
//
// A segment whose sum is unchanged is taken as unchanged: see Sum for
// what that guarantees. Keeping 32 bytes a segment instead of the file
// frees the file's size of memory between reads; in the guest, summing
// the new file costs what comparing it with the kept bytes did
// (BenchmarkVMSumBytes, BenchmarkVMDiffFile).
func (c *ParseConfig) DiffSums(name string, s *Sums, buf []byte) (SumChange, error) {
	var d SumChange
	err := c.passFile(name, func(data []byte) { d = diffSums(s, data, buf[:0]) })
	return d, err
}

// diffSums is DiffSums of the file's bytes data.
func diffSums(s *Sums, data, buf []byte) SumChange {
	n, size, old := len(s.Ends), len(data), s.Size()
	first := 0
	for ; first < n; first++ {
		lo, hi := s.Span(first)
		if hi > size || SumBytes(data[lo:hi]) != s.Sums[first] {
			break
		}
	}
	if first == n && size == old {
		return SumChange{First: n, End: n, Changed: buf, Size: size}
	}
	floor := 0
	if first > 0 {
		floor = s.Ends[first-1]
	}
	delta := size - old
	end := n
	for ; end > first; end-- {
		lo, hi := s.Span(end - 1)
		if lo+delta < floor || SumBytes(data[lo+delta:hi+delta]) != s.Sums[end-1] {
			break
		}
	}
	top := size
	if end < n {
		lo, _ := s.Span(end)
		top = lo + delta
	}
	return SumChange{First: first, End: end, Changed: append(buf, data[floor:top]...), Size: size}
}
