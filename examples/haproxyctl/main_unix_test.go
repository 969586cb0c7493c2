//go:build unix

package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFilesAreTypeChecked: a FIFO or a device is refused with its path,
// without blocking on it or reading it.
func TestFilesAreTypeChecked(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo.cfg")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/zero"} {
		for _, cmd := range [][]string{{"check", path}, {"servers", path}, {"set-weight", path, "b", "s", "1"}} {
			code, _, errs := runCtl(t, cmd...)
			if code != 1 || !strings.Contains(errs, path+": haproxy: not a regular file") {
				t.Errorf("%v: exit %d, %q", cmd, code, errs)
			}
		}
	}
}
