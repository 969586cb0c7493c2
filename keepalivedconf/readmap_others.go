//go:build !linux

package keepalivedconf

import "os"

// readMapped copies nothing: the mapped read is Linux's (readmap_linux.go).
func readMapped(f *os.File, size int64, dst []byte) int { return 0 }

// diffMapped compares nothing: DiffFile reads the file instead.
func diffMapped(name string, max int64, base, buf []byte) (FileChange, bool, error) {
	return FileChange{}, false, nil
}
