package keepalivedconf

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ParseConfig configures how files are read and expanded. A nil
// *ParseConfig and the zero value mean the documented defaults.
type ParseConfig struct {
	// ConfigID is matched by "@id" and "@^id" line prefixes (keepalived's
	// -i option) and is the value of ${_INSTANCE}. keepalived defaults it
	// to the host name; empty means no id: "@id" lines are skipped, "@^id"
	// lines kept.
	ConfigID string
	// LookupEnv resolves ${_ENV NAME}. nil reads nothing, so that
	// expansion is deterministic; pass os.LookupEnv for keepalived's
	// behaviour.
	LookupEnv func(name string) (string, bool)
	// Limits bound what is read; zero fields take their defaults.
	Limits Limits

	// readFile and glob replace file access, for tests and fuzzing.
	readFile func(name string, max int64) ([]byte, error)
	glob     func(pattern string) ([]string, error)
}

// Limits bound the work and memory a configuration may cost, so that a
// hostile or broken file gives an error naming its place rather than a
// hang, a stack overflow or an out-of-memory kill. The defaults are far
// above real configurations (a 10,000-service keepalived.conf is 2 MB,
// 150,000 lines, nesting depth 4). Zero means the default.
type Limits struct {
	// MaxFileSize bounds each file read, in bytes (default 64 MiB).
	MaxFileSize int64
	// MaxNesting bounds the depth of { } blocks (default 1,000).
	MaxNesting int
	// MaxIncludeDepth bounds include chains (default 32, keepalived's
	// own bound).
	MaxIncludeDepth int
	// MaxIncludesPerFile bounds the files the include statements of one
	// file read (default 1,024).
	MaxIncludesPerFile int
	// MaxIncludes bounds the files read in total (default 8,192).
	MaxIncludes int
	// MaxLines bounds the expanded configuration's lines (default 4 Mi).
	MaxLines int
	// MaxBytes bounds the expanded configuration's size (default 256 MiB).
	MaxBytes int64
	// MaxSteps bounds expansion steps: lines processed, ~SEQ/~LST
	// iterations and substitutions, counted whether or not they write
	// anything (default 32 Mi).
	MaxSteps int
	// MaxErrors bounds the errors, warnings and lint findings returned in
	// one list; the last element then says how many more there were
	// (default 1,000).
	MaxErrors int
}

// Default limits.
const (
	DefaultMaxFileSize        = 64 << 20
	DefaultMaxNesting         = 1000
	DefaultMaxIncludeDepth    = 32
	DefaultMaxIncludesPerFile = 1024
	DefaultMaxIncludes        = 8192
	DefaultMaxLines           = 4 << 20
	DefaultMaxBytes           = 256 << 20
	DefaultMaxSteps           = 32 << 20
	DefaultMaxErrors          = 1000
)

// withDefaults returns l with zero fields set to their defaults.
func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = DefaultMaxFileSize
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	def(&l.MaxNesting, DefaultMaxNesting)
	def(&l.MaxIncludeDepth, DefaultMaxIncludeDepth)
	def(&l.MaxIncludesPerFile, DefaultMaxIncludesPerFile)
	def(&l.MaxIncludes, DefaultMaxIncludes)
	def(&l.MaxLines, DefaultMaxLines)
	def(&l.MaxSteps, DefaultMaxSteps)
	def(&l.MaxErrors, DefaultMaxErrors)
	return l
}

// resolved returns a copy of c (or of the defaults when c is nil) with its
// limits and file access filled in.
func (c *ParseConfig) resolved() *ParseConfig {
	r := &ParseConfig{}
	if c != nil {
		*r = *c
	}
	r.Limits = r.Limits.withDefaults()
	if r.readFile == nil {
		r.readFile = readRegular
	}
	if r.glob == nil {
		r.glob = filepath.Glob
	}
	return r
}

// errNotRegular refuses FIFOs, devices, sockets and directories.
var errNotRegular = errors.New("not a regular file")

// readRegular reads a regular file of at most max bytes. Anything else (a
// FIFO that would block, a device that never ends, a directory) is refused
// with its path, and the size is checked on what is read, not only on what
// stat says, so a file growing while it is read is still bounded.
func readRegular(name string, max int64) ([]byte, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s)", name, errNotRegular, st.Mode().Type())
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s: %w: file is %d bytes, more than %d", name, ErrLimit, st.Size(), max)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// the file may have been replaced between Stat and Open
	if st, err = f.Stat(); err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s)", name, errNotRegular, st.Mode().Type())
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w: file is more than %d bytes", name, ErrLimit, max)
	}
	return data, nil
}
