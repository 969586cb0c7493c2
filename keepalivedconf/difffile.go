package keepalivedconf

import (
	"bytes"
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
	r := c.resolved()
	if c == nil || c.readFile == nil {
		d, ok, err := diffMapped(name, r.Limits.MaxFileSize, base, buf[:0])
		if err != nil {
			return FileChange{}, fmt.Errorf("keepalivedconf: %w", err)
		}
		if ok {
			return d, nil
		}
	}
	data, err := c.ReadFile(name)
	if err != nil {
		return FileChange{}, err
	}
	return diffBytes(base, data, buf[:0]), nil
}

// diffBytes is DiffFile of the file's bytes data.
func diffBytes(base, data, buf []byte) FileChange {
	pre, suf := commonAffixes(base, data)
	return FileChange{Prefix: pre, Suffix: suf, Changed: append(buf, data[pre:len(data)-suf]...), Size: len(data)}
}

// commonAffixes returns the lengths of the longest common prefix and
// suffix of a and b that do not overlap, comparing a chunk at a time
// (memcmp speed) before narrowing to the byte.
func commonAffixes(a, b []byte) (pre, suf int) {
	const chunk = 4096
	n := min(len(a), len(b))
	for pre+chunk <= n && bytes.Equal(a[pre:pre+chunk], b[pre:pre+chunk]) {
		pre += chunk
	}
	for pre < n && a[pre] == b[pre] {
		pre++
	}
	la, lb := len(a), len(b)
	for suf+chunk <= n-pre && bytes.Equal(a[la-suf-chunk:la-suf], b[lb-suf-chunk:lb-suf]) {
		suf += chunk
	}
	for suf < n-pre && a[la-1-suf] == b[lb-1-suf] {
		suf++
	}
	return pre, suf
}
