package keepalivedconf

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestSumOneWordEdits changes each byte of a string in turn, and grows
// and shrinks it by one byte: every such edit changes the Sum.
func TestSumOneWordEdits(t *testing.T) {
	b := []byte("virtual_server 10.0.0.1 80 {\n    real_server 10.1.0.1 80 {\n        weight 1\n    }\n}\n")
	s0 := SumBytes(b)
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x02
		if SumBytes(c) == s0 {
			t.Fatalf("byte %d changed, same sum", i)
		}
	}
	for n := range len(b) {
		if SumBytes(b[:n]) == s0 || SumBytes(append(bytes.Clone(b[:n]), 0)) == SumBytes(b[:n]) {
			t.Fatalf("length %d: same sum", n)
		}
	}
}

// checkDiffSums checks d, the change of data from base (fingerprinted
// by s), against the bytes: the segments outside [First, End) are
// there, Changed holds the rest, and nothing changed reads as such.
func checkDiffSums(t *testing.T, base, data []byte, s *Sums, d SumChange) {
	t.Helper()
	n := len(s.Ends)
	if d.First > d.End || d.End > n || d.Size != len(data) {
		t.Fatalf("change %+v of %d segments, size %d", d, n, len(data))
	}
	floor, top := 0, len(base)
	if d.First > 0 {
		floor = s.Ends[d.First-1]
	}
	if d.End < n {
		top, _ = s.Span(d.End)
	}
	got := append(append(bytes.Clone(base[:floor]), d.Changed...), base[top:]...)
	if !bytes.Equal(got, data) {
		t.Fatalf("change %+v rebuilds %q, want %q", d, got, data)
	}
	if bytes.Equal(base, data) != (d.First == n && d.End == n && len(d.Changed) == 0) {
		t.Fatalf("change %+v of equal=%v files", d, bytes.Equal(base, data))
	}
}

func TestDiffSums(t *testing.T) {
	base := []byte("head\nA {\n 1\n}\nB {\n 2\n}\nC {\n 3\n}\n")
	ends := []int{5, 14, 23, len(base)}
	for _, tc := range []struct {
		name, data  string
		first, end  int
		changedText string
	}{
		{"same", string(base), 4, 4, ""},
		{"one byte in B", "head\nA {\n 1\n}\nB {\n 7\n}\nC {\n 3\n}\n", 2, 3, "B {\n 7\n}\n"},
		{"B grows", "head\nA {\n 1\n}\nB {\n 22\n}\nC {\n 3\n}\n", 2, 3, "B {\n 22\n}\n"},
		{"B and C", "head\nA {\n 1\n}\nB {\n 7\n}\nC {\n 8\n}\n", 2, 4, "B {\n 7\n}\nC {\n 8\n}\n"},
		{"appended", string(base) + "D {\n}\n", 4, 4, "D {\n}\n"},
		{"head", "Head\nA {\n 1\n}\nB {\n 2\n}\nC {\n 3\n}\n", 0, 1, "Head\n"},
		{"truncated", "head\nA {\n 1\n}\nB {\n", 2, 4, "B {\n"},
		{"empty", "", 0, 4, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSums(base, slices.Clone(ends)) // Replace moves them
			d := diffSums(s, []byte(tc.data), nil)
			checkDiffSums(t, base, []byte(tc.data), s, d)
			if d.First != tc.first || d.End != tc.end || string(d.Changed) != tc.changedText {
				t.Fatalf("got %d %d %q, want %d %d %q", d.First, d.End, d.Changed, tc.first, tc.end, tc.changedText)
			}
			if d.End-d.First == 1 {
				// One segment replaced: the new Sums are the file's.
				s.Replace(d.First, d.Changed)
				want := NewSums([]byte(tc.data), s.Ends)
				if !slices.Equal(s.Sums, want.Sums) || s.Size() != len(tc.data) {
					t.Fatal("Replace's sums differ from the file's")
				}
			}
		})
	}
}

// FuzzDiffSums: for any base, segments and file, the change rebuilds
// the file, and an equal file reads as unchanged.
func FuzzDiffSums(f *testing.F) {
	f.Add([]byte("head\nA {\n 1\n}\nB {\n 2\n}\n"), []byte("head\nA {\n 1\n}\nB {\n 3\n}\n"), []byte{5, 9})
	f.Add([]byte("abc"), []byte("abcabc"), []byte{0, 1, 1})
	f.Fuzz(func(t *testing.T, base, data, cuts []byte) {
		var ends []int
		at := 0
		for _, c := range cuts {
			at = min(at+int(c), len(base))
			ends = append(ends, at)
		}
		ends = append(ends, len(base))
		s := NewSums(base, ends)
		checkDiffSums(t, base, data, s, diffSums(s, data, nil))
	})
}

// TestDiffSumsFile compares files through DiffSums, small (read(2)) and
// large (mapped where the system maps), with the bytes' diffSums.
func TestDiffSumsFile(t *testing.T) {
	// read(2), and mapped where the system maps (readmap_linux.go).
	for _, size := range []int{4 << 10, 2 << 20} {
		base := bytes.Repeat([]byte("virtual_server 10.0.0.1 80 {\n weight 1\n}\n"), size/41)
		var ends []int
		for i := 41; i < len(base); i += 41 * 7 {
			ends = append(ends, i)
		}
		ends = append(ends, len(base))
		data := bytes.Clone(base)
		data[len(data)/2] ^= 1
		path := filepath.Join(t.TempDir(), "k.conf")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s := NewSums(base, ends)
		d, err := (*ParseConfig)(nil).DiffSums(path, s, make([]byte, 0, 10))
		if err != nil {
			t.Fatal(err)
		}
		checkDiffSums(t, base, data, s, d)
		if d.End-d.First != 1 {
			t.Fatalf("size %d: segments %d-%d changed, want one", size, d.First, d.End)
		}
	}
}
