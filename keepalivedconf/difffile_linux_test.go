package keepalivedconf

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestDiffMappedFallsBack: a file truncated or rewritten while it is
// compared through the mapping is not reported from the mapping: a
// fault, or stat saying the file changed, gives ok false (DiffFile then
// reads it again).
func TestDiffMappedFallsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.conf")
	base := bytes.Repeat([]byte("virtual_server 192.0.2.1 80 {\n}\n"), 2*mapMinSize/32)
	if err := os.WriteFile(path, base, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	if err := os.Truncate(path, mapMinSize/2); err != nil {
		t.Fatal(err)
	}
	if inMapping(f, len(base), func(m []byte) { diffBytes(base, m, nil) }) {
		t.Error("a diff over the mapping of a truncated file: ok, want the fault recovered")
	}
	st2, _ := f.Stat()
	if sameFileState(st, st2) {
		t.Error("sameFileState: a truncated file is the same")
	}
}
