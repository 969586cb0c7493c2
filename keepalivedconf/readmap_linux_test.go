package keepalivedconf

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestReadMapped: a large file is read through the mapping into the
// buffer given, with the same bytes as read(2); a file truncated after
// stat faults in the mapping, and readMapped reports nothing copied
// (instead of crashing), leaving the read to read(2).
func TestReadMapped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.conf")
	want := bytes.Repeat([]byte("virtual_server 192.0.2.1 80 {\n}\n"), 2*mapMinSize/32)
	if err := os.WriteFile(path, want, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dst := make([]byte, len(want))
	if n := readMapped(f, int64(len(want)), dst); n != len(want) || !bytes.Equal(dst, want) {
		t.Fatalf("readMapped = %d bytes, equal %v; want all %d", n, bytes.Equal(dst, want), len(want))
	}
	buf := make([]byte, 0, len(want)+1)
	got, err := (*ParseConfig)(nil).ReadFileInto(path, buf)
	if err != nil || !bytes.Equal(got, want) || &got[0] != &buf[:1][0] {
		t.Fatalf("ReadFileInto(large) = %d bytes, %v; want the file in the buffer given", len(got), err)
	}
	if s, err := (*ParseConfig)(nil).ReadFile(path); err != nil || !bytes.Equal(s, want) {
		t.Fatalf("ReadFile(large) = %d bytes, %v", len(s), err)
	}
	if err := os.Truncate(path, mapMinSize/2); err != nil {
		t.Fatal(err)
	}
	if n := readMapped(f, int64(len(want)), dst); n != 0 {
		t.Errorf("readMapped of a file truncated after stat = %d, want 0 (the fault recovered)", n)
	}
	if got, err := (*ParseConfig)(nil).ReadFileInto(path, buf); err != nil || !bytes.Equal(got, want[:mapMinSize/2]) {
		t.Errorf("ReadFileInto(truncated) = %d bytes, %v", len(got), err)
	}
}
