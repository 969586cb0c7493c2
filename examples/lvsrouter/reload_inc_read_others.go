//go:build !linux

package main

// readConfigInto is loadConfig.ReadFileInto (the mapped read is Linux's).
func readConfigInto(path string, buf []byte) ([]byte, error) {
	return loadConfig.ReadFileInto(path, buf)
}
