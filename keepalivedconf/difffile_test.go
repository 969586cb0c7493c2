package keepalivedconf

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestDiffFile: over random edits of a large file (mapped) and of a
// small one (read), DiffFile gives the file's bytes when applied to the
// base, copies only the changed range, reuses the buffer given, and
// says unchanged for an unchanged file.
func TestDiffFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k.conf")
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{4096, 2 << 20} {
		base := bytes.Repeat([]byte("virtual_server 192.0.2.1 80 {\n}\n"), size/32)
		buf := make([]byte, 0, 64)
		for i := range 40 {
			data := bytes.Clone(base)
			at := rng.IntN(len(data))
			cut := min(rng.IntN(100), len(data)-at)
			ins := bytes.Repeat([]byte{byte('a' + i%26)}, rng.IntN(100))
			if i == 0 {
				cut, ins = 0, nil // unchanged
			}
			data = append(data[:at:at], append(ins, base[at+cut:]...)...)
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			d, err := (*ParseConfig)(nil).DiffFile(path, base, buf)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Apply(nil, base); !bytes.Equal(got, data) || d.Size != len(data) {
				t.Fatalf("size %d edit %d: applied diff differs from the file: at %d cut %d ins %d; pre %d suf %d changed %d size %d/%d", size, i, at, cut, len(ins), d.Prefix, d.Suffix, len(d.Changed), d.Size, len(data))
			}
			if want := diffBytes(base, data, nil); d.Prefix != want.Prefix || d.Suffix != want.Suffix {
				t.Fatalf("size %d edit %d: affixes %d %d, want %d %d", size, i, d.Prefix, d.Suffix, want.Prefix, want.Suffix)
			}
			if len(d.Changed) > len(ins) {
				t.Fatalf("size %d edit %d: %d bytes copied, at most %d changed", size, i, len(d.Changed), len(ins))
			}
			if len(d.Changed) > 0 && len(d.Changed) <= cap(buf) && &d.Changed[0] != &buf[:1][0] {
				t.Errorf("size %d edit %d: the changed bytes are not in the buffer given", size, i)
			}
			if d.Unchanged(len(base)) != bytes.Equal(base, data) {
				t.Errorf("size %d edit %d: Unchanged = %v", size, i, d.Unchanged(len(base)))
			}
		}
	}
	if _, err := (*ParseConfig)(nil).DiffFile(dir, nil, nil); err == nil {
		t.Error("DiffFile of a directory: no error")
	}
}

// FuzzDiffBytes: the diff of any two byte strings, applied to the
// first, gives the second, its affixes within both.
func FuzzDiffBytes(f *testing.F) {
	f.Add([]byte("virtual_server 1 {\n weight 1\n}\n"), []byte("virtual_server 1 {\n weight 10\n}\n"))
	f.Add([]byte("aaaa"), []byte("aa"))
	f.Add([]byte(""), []byte("x"))
	f.Fuzz(func(t *testing.T, base, data []byte) {
		d := diffBytes(base, data, nil)
		if d.Prefix+d.Suffix > min(len(base), len(data)) {
			t.Fatalf("affixes %d+%d overlap", d.Prefix, d.Suffix)
		}
		if got := d.Apply(nil, base); !bytes.Equal(got, data) {
			t.Fatalf("Apply = %q, want %q", got, data)
		}
		if d.Unchanged(len(base)) != bytes.Equal(base, data) {
			t.Fatal("Unchanged wrong")
		}
	})
}
