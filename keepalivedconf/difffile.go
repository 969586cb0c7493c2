package keepalivedconf

import (
	"encoding/binary"
	"fmt"
)

// FileChange is how a file differs from bytes the caller read from it
// before (its base): the file is base[:Prefix], then Changed, then the
// last Suffix bytes of base. Prefix and Suffix do not overlap, in the
// base or in the file.
type FileChange struct {
	Prefix, Suffix int
	Changed        []byte
	// Size is the file's size.
	Size int
}

// Unchanged reports whether the file equals the base of length n.
func (d FileChange) Unchanged(n int) bool {
	return len(d.Changed) == 0 && d.Size == n && d.Prefix+d.Suffix == n
}

// Apply returns the file's bytes: base patched with d, appended to dst.
func (d FileChange) Apply(dst, base []byte) []byte {
	dst = append(dst, base[:d.Prefix]...)
	dst = append(dst, d.Changed...)
	return append(dst, base[len(base)-d.Suffix:]...)
}

// DiffFile compares the file name with base, bytes read from it before,
// and returns what differs: the changed range's bytes are copied, appended
// to buf[:0] (reusing its capacity), the rest only compared. It checks the
// file as ReadFile does (a regular file within Limits.MaxFileSize).
//
// A large file is compared through a read-only mapping where the system
// has one, in one pass over its bytes instead of a copy of all of them and
// a pass over the copy (a reload re-reading a file of which one block
// changed: in a guest without hardware virtualization the copy of 5.8 MB
// cost as much as the compare). Every byte of the result is read from the
// file once, as read(2) would read it; when the file changes size, time
// stamps or identity while mapped, or the mapping faults (the file
// truncated), DiffFile reads it again with read(2) and compares that.
func (c *ParseConfig) DiffFile(name string, base, buf []byte) (FileChange, error) {
	var d FileChange
	err := c.passFile(name, func(data []byte) { d = diffBytes(base, data, buf[:0]) })
	return d, err
}

// passFile runs use over the bytes of the file name, checked as
// ReadFile does: through a read-only mapping of a large file where the
// system has one, else (or when the file changed or faulted while
// mapped) over a read(2) of it. use may run twice, the last run's
// result being the file's.
func (c *ParseConfig) passFile(name string, use func(data []byte)) error {
	r := c.resolved()
	if c == nil || c.readFile == nil {
		ok, err := inMappedFile(name, r.Limits.MaxFileSize, use)
		if err != nil {
			return fmt.Errorf("keepalivedconf: %w", err)
		}
		if ok {
			return nil
		}
	}
	data, err := c.ReadFile(name)
	if err != nil {
		return err
	}
	use(data)
	return nil
}

// diffBytes is DiffFile of the file's bytes data.
func diffBytes(base, data, buf []byte) FileChange {
	pre, suf := commonAffixes(base, data)
	return FileChange{Prefix: pre, Suffix: suf, Changed: append(buf, data[pre:len(data)-suf]...), Size: len(data)}
}

// commonAffixes returns the lengths of the longest common prefix and
// suffix of a and b that do not overlap, comparing 32 bytes at a time
// before narrowing to the byte. The 32 bytes are four 64-bit words,
// not bytes.Equal's vector compare: in a guest without hardware
// virtualization the emulated vector instructions made the pass over
// 5.8 MB take 7 ms in memory and 13-18 ms through a mapping against
// 2.8 and 4.8 ms for the words (a probe in the guest, 2026-12-07; BenchmarkVMDiffFile compares the ways); on
// hardware the pass is a fraction of a millisecond either way.
func commonAffixes(a, b []byte) (pre, suf int) {
	n := min(len(a), len(b))
	for pre+32 <= n && !differ32(a[pre:pre+32:pre+32], b[pre:pre+32:pre+32]) {
		pre += 32
	}
	for pre < n && a[pre] == b[pre] {
		pre++
	}
	la, lb := len(a), len(b)
	for suf+32 <= n-pre && !differ32(a[la-suf-32:la-suf:la-suf], b[lb-suf-32:lb-suf:lb-suf]) {
		suf += 32
	}
	for suf < n-pre && a[la-1-suf] == b[lb-1-suf] {
		suf++
	}
	return pre, suf
}

// differ32 reports whether the 32 bytes of x and y differ.
func differ32(x, y []byte) bool {
	_, _ = x[31], y[31]
	le := binary.LittleEndian
	// ^ and | bind alike in Go: each xor in parentheses.
	return (le.Uint64(x)^le.Uint64(y))|(le.Uint64(x[8:])^le.Uint64(y[8:]))|
		(le.Uint64(x[16:])^le.Uint64(y[16:]))|(le.Uint64(x[24:])^le.Uint64(y[24:])) != 0
}
