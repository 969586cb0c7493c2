//go:build !linux

package keepalivedconf

import "os"

// readMapped copies nothing: the mapped read is Linux's (readmap_linux.go).
func readMapped(f *os.File, size int64, dst []byte) int { return 0 }

// inMappedFile maps nothing: the caller reads the file instead.
func inMappedFile(name string, max int64, use func(m []byte)) (bool, error) {
	return false, nil
}
