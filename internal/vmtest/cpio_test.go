package vmtest

import (
	"bytes"
	"strconv"
	"testing"
	"time"
)

// readCPIO parses a newc archive into name -> contents (symlinks as
// "->target"), the inverse of cpioWriter, to check what the guest unpacks.
func readCPIO(t *testing.T, b []byte) map[string]string {
	t.Helper()
	files := map[string]string{}
	for off := 0; ; {
		if len(b)-off < 110 || string(b[off:off+6]) != "070701" {
			t.Fatalf("bad header at %d", off)
		}
		field := func(i int) int {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return int(v)
		}
		mode, size, nameLen := field(1), field(6), field(11)
		name := string(b[off+110 : off+110+nameLen-1])
		off = (off + 110 + nameLen + 3) &^ 3
		data := string(b[off : off+size])
		off = (off + size + 3) &^ 3
		if name == "TRAILER!!!" {
			return files
		}
		switch mode &^ 0o777 {
		case 0o120000:
			files[name] = "->" + data
		case 0o040000:
			files[name+"/"] = ""
		default:
			files[name] = data
		}
	}
}

func TestCPIO(t *testing.T) {
	var buf bytes.Buffer
	w := newCPIO(&buf)
	w.File("/a/b/c.txt", 0o644, []byte("hello"))
	w.Symlink("/var/run", "/run")
	w.File("/a/odd", 0o755, []byte("xyz12"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%4 != 0 {
		t.Errorf("archive length %d not 4-aligned", buf.Len())
	}
	got := readCPIO(t, buf.Bytes())
	want := map[string]string{"a/": "", "a/b/": "", "a/b/c.txt": "hello", "var/": "", "var/run": "->/run", "a/odd": "xyz12"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d entries, want %d: %v", len(got), len(want), got)
	}
}

func TestTestTimeout(t *testing.T) {
	if d := testTimeout([]string{"-test.v=true", "-test.timeout=3m0s"}); d != 3*time.Minute {
		t.Errorf("got %v", d)
	}
	if d := testTimeout(nil); d != 10*time.Minute {
		t.Errorf("default %v", d)
	}
}
