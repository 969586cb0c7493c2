package keepalivedconf

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestHostileSpecialFiles: a FIFO would block a reload forever and
// /dev/zero never ends. Neither is read: as an include, keepalived 2.2.7
// skips them ("not a regular non-executable file - skipping", -t exits 0),
// and so do we, with a lint finding naming the path; as the file itself,
// they are refused.
func TestHostileSpecialFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"fifo.conf": "include fifo\n",
		"zero.conf": "include /dev/zero\n",
	})
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"fifo.conf": filepath.Join(dir, "fifo"), "zero.conf": "/dev/zero"} {
		c, _, bytesRead := countingConfig(Limits{})
		f, err := c.ParseFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cfg, err := f.Config()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		l := cfg.Lint()
		if len(l) != 1 || !strings.Contains(l[0].Error(), name+":1:1: cannot read included file: "+path+": not a regular file") {
			t.Fatalf("%s: lint %v", name, l)
		}
		if *bytesRead != int64(len("include /dev/zero\n")) && *bytesRead != int64(len("include fifo\n")) {
			t.Fatalf("%s: %d bytes read", name, *bytesRead)
		}
		if _, err := c.ParseFile(path); err == nil || !strings.Contains(err.Error(), path+": not a regular file") {
			t.Fatalf("ParseFile(%s): %v", path, err)
		}
		if _, err := c.ReadFile(path); !errors.Is(err, errNotRegular) {
			t.Fatalf("ReadFile(%s): %v", path, err)
		}
	}
}
