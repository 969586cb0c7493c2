//go:build vm

package keepalivedconf

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkVMDiffFile compares, in the guest (TCG), the ways of finding
// the changed range of a 5.8 MB file: DiffFile (the words through a
// mapping), the old read into a buffer followed by a compare, and the
// compare alone in memory with bytes.Equal's vector loop and with the
// words commonAffixes uses.
func BenchmarkVMDiffFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "k.conf")
	base := bytes.Repeat([]byte("virtual_server 192.0.2.1 80 {\n  real_server 10.0.0.1 80 {\n weight 1\n }\n}\n"), 5800000/72)
	data := bytes.Clone(base)
	data[len(data)/2] = '3'
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	b.Run("DiffFile", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := (*ParseConfig)(nil).DiffFile(path, base, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	read := make([]byte, len(data)+1)
	b.Run("ReadFileInto+compare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			got, err := (*ParseConfig)(nil).ReadFileInto(path, read)
			if err != nil {
				b.Fatal(err)
			}
			commonAffixes(base, got)
		}
	})
	b.Run("memory/words", func(b *testing.B) {
		for b.Loop() {
			commonAffixes(base, data)
		}
	})
	b.Run("memory/bytes.Equal", func(b *testing.B) {
		for b.Loop() {
			pre := 0
			for pre+4096 <= len(data) && bytes.Equal(base[pre:pre+4096], data[pre:pre+4096]) {
				pre += 4096
			}
			suf := 0
			for suf+4096 <= len(data)-pre && bytes.Equal(base[len(base)-suf-4096:len(base)-suf], data[len(data)-suf-4096:len(data)-suf]) {
				suf += 4096
			}
		}
	})
}

// BenchmarkVMSumBytes is the pass SumBytes makes over the same 5.8 MB, in
// memory and through a mapping, beside BenchmarkVMDiffFile's compares.
func BenchmarkVMSumBytes(b *testing.B) {
	data := bytes.Repeat([]byte("virtual_server 192.0.2.1 80 {\n  real_server 10.0.0.1 80 {\n weight 1\n }\n}\n"), 5800000/72)
	path := filepath.Join(b.TempDir(), "k.conf")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	b.Run("memory", func(b *testing.B) {
		for b.Loop() {
			SumBytes(data)
		}
	})
	b.Run("memory/blocks", func(b *testing.B) {
		for b.Loop() {
			for i := 0; i+580 <= len(data); i += 580 {
				SumBytes(data[i : i+580])
			}
		}
	})
	b.Run("mapped", func(b *testing.B) {
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			inMapping(f, len(data), func(m []byte) { SumBytes(m) })
			f.Close()
		}
	})
}
