package haproxy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// DefaultMaxFileSize is the largest file ParseFile reads unless
// ParserConfig.MaxFileSize says otherwise: 64 MiB, thirty times a
// configuration of 10,000 backends with 4 servers each. HAProxy itself
// reads any file to its end, /dev/zero included.
const DefaultMaxFileSize = 64 << 20

// Errors of ParseFile, for errors.Is.
var (
	// ErrNotRegular reports a path that is not a regular file (a FIFO,
	// a device, a directory, a socket): reading it could block forever
	// or never end.
	ErrNotRegular = errors.New("haproxy: not a regular file")
	// ErrTooLarge reports a file larger than the configured maximum.
	ErrTooLarge = errors.New("haproxy: file too large")
)

// ParseFile reads and parses the configuration file at filename. It
// reads regular files only, and at most DefaultMaxFileSize bytes.
func ParseFile(filename string) (*Config, error) {
	return ParseFileWith(filename, nil)
}

// ParseFileWith is ParseFile with a configuration; cfg may be nil.
func ParseFileWith(filename string, cfg *ParserConfig) (*Config, error) {
	data, err := readFile(filename, cfg)
	if err != nil {
		return nil, err
	}
	return ParseWith(filename, data, cfg)
}

// readFile reads a regular file of at most the configured size. The type
// is checked before opening, since opening a FIFO blocks until a writer
// comes, and again on the open file, in case the path changed between.
func readFile(filename string, cfg *ParserConfig) ([]byte, error) {
	limit := int64(DefaultMaxFileSize)
	if cfg != nil && cfg.MaxFileSize > 0 {
		limit = cfg.MaxFileSize
	}
	fi, err := os.Stat(filename)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(filename, fi, limit); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filename, os.O_RDONLY|openNonBlock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := checkRegular(filename, fi, limit); err != nil {
		return nil, err
	}
	// The size may have changed, and some files (in /proc) report 0:
	// read one byte past the limit to tell.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("haproxy: read %s: %w", filename, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: %w (more than %d bytes)", filename, ErrTooLarge, limit)
	}
	return data, nil
}

func checkRegular(filename string, fi fs.FileInfo, limit int64) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %w (%s)", filename, ErrNotRegular, fileType(fi.Mode()))
	}
	if fi.Size() > limit {
		return fmt.Errorf("%s: %w (%d bytes, at most %d)", filename, ErrTooLarge, fi.Size(), limit)
	}
	return nil
}

func fileType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "mode " + m.String()
}
