package keepalivedconf

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"unsafe"
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
	// readFile returns the file as a string, which the parsed tree's
	// strings then share without a copy.
	readFile func(name string, max int64) (string, error)
	glob     func(pattern string) ([]string, error)
}

// Limits bound the work and memory a configuration may cost, so that a
// hostile or broken file gives an error naming its place rather than a
// hang, a stack overflow or an out-of-memory kill. The defaults are far
// above real configurations (a keepalived.conf of 10,000 virtual servers
// with two real servers each is 5 MB, 190,000 lines, nesting depth 4).
// Zero means the default.
type Limits struct {
	// MaxFileSize bounds each file read, in bytes (default 64 MiB).
	MaxFileSize int64
	// MaxNesting bounds the depth of { } blocks (default 1,000).
	MaxNesting int
	// MaxIncludeDepth bounds include chains (default 32, keepalived's
	// own bound).
	MaxIncludeDepth int
	// MaxIncludesPerFile bounds the files the include statements of one
	// file read (default 4,096).
	MaxIncludesPerFile int
	// MaxIncludes bounds the files read in total (default 16,384).
	MaxIncludes int
	// MaxLines bounds the expanded configuration's lines (default 1 Mi).
	MaxLines int
	// MaxBytes bounds the expanded configuration's size (default 64 MiB).
	MaxBytes int64
	// MaxSteps bounds expansion steps: lines processed, ~SEQ/~LST
	// iterations and substitutions, counted whether or not they write
	// anything (default 8 Mi, about a second of work).
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
	DefaultMaxIncludesPerFile = 4096
	DefaultMaxIncludes        = 16384
	DefaultMaxLines           = 1 << 20
	DefaultMaxBytes           = 64 << 20
	DefaultMaxSteps           = 8 << 20
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

// ReadFile reads a file the way ParseFile does: only a regular file (a
// FIFO, a device or a directory is refused with its path), of at most
// Limits.MaxFileSize bytes, counted on what is read.
func (c *ParseConfig) ReadFile(name string) ([]byte, error) {
	r := c.resolved()
	data, err := r.readFile(name, r.Limits.MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("keepalivedconf: %w", err)
	}
	if (c == nil || c.readFile == nil) && len(data) > 0 {
		// readRegular read into a buffer of its own that nothing else
		// holds: it becomes the caller's without a copy (a large file
		// costs its size once, 5 MB at 10,000 virtual servers × 4 real
		// servers, not twice).
		return unsafe.Slice(unsafe.StringData(data), len(data)), nil
	}
	return []byte(data), nil
}

// ReadFileInto is ReadFile into buf's memory: it returns buf[:0] with the
// file appended, reusing buf's capacity when the file fits (then no new
// memory is touched: a caller re-reading a large file, such as a reload,
// keeps one buffer and passes it again) and growing it otherwise. The
// same checks apply: only a regular file, of at most Limits.MaxFileSize
// bytes counted on what is read. On an error buf's contents are
// undefined. The returned bytes are the caller's: nothing ParseData or
// ParsePieces returns refers to them (both copy what they parse), so the
// caller may overwrite them once parsed.
func (c *ParseConfig) ReadFileInto(name string, buf []byte) ([]byte, error) {
	r := c.resolved()
	if c != nil && c.readFile != nil {
		data, err := r.readFile(name, r.Limits.MaxFileSize)
		if err != nil {
			return buf[:0], fmt.Errorf("keepalivedconf: %w", err)
		}
		return append(buf[:0], data...), nil
	}
	buf, err := readRegularInto(name, r.Limits.MaxFileSize, buf[:0])
	if err != nil {
		return buf[:0], fmt.Errorf("keepalivedconf: %w", err)
	}
	return buf, nil
}

// readRegularInto reads a regular file of at most max bytes, appended to
// buf. Anything else (a FIFO that would block, a device that never ends,
// a directory) is refused with its path, and the size is checked on what
// is read, not only on what stat says, so a file growing while it is read
// is still bounded. buf grows only when the file does not fit in its
// capacity: to the size stat gives plus one byte to see the end, with a
// margin for a file that grows a little between reads when buf had room
// already (a caller re-reading into the same buffer). A large file is
// copied through a read-only mapping where the system has one (readMapped).
func readRegularInto(name string, max int64, buf []byte) ([]byte, error) {
	f, st, err := openRegular(name, max)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	if size := int(min(st.Size(), max)) + 1; cap(buf)-len(buf) < size {
		if cap(buf) > 0 {
			size += size/64 + 4096
		}
		buf = slices.Grow(buf, size)
	}
	start := len(buf)
	n := readMapped(f, st.Size(), buf[start:start+int(st.Size())])
	buf = buf[:start+n]
	if n > 0 {
		if _, err := f.Seek(int64(n), io.SeekStart); err != nil {
			return buf, err
		}
	}
	lr := io.LimitReader(f, max+1-int64(n))
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, len(buf)/4+4096)
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return buf, err
		}
	}
	if int64(len(buf)-start) > max {
		return buf, limitError(fmt.Sprintf("%s: file is more than the limit of %d bytes", name, max))
	}
	return buf, nil
}

// openRegular opens name if it is a regular file of at most max bytes
// (by stat), checking again on the open file.
func openRegular(name string, max int64) (*os.File, os.FileInfo, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: %w (%s)", name, errNotRegular, fileType(st.Mode()))
	}
	if st.Size() > max {
		return nil, nil, limitError(fmt.Sprintf("%s: file is %d bytes, more than the limit of %d", name, st.Size(), max))
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	// the file may have been replaced between Stat and Open
	if st, err = f.Stat(); err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w (%s)", name, errNotRegular, fileType(st.Mode()))
	}
	if st.Size() > max {
		f.Close()
		return nil, nil, limitError(fmt.Sprintf("%s: file is %d bytes, more than the limit of %d", name, st.Size(), max))
	}
	return f, st, nil
}

// errNotRegular refuses FIFOs, devices, sockets and directories.
var errNotRegular = errors.New("not a regular file")

// readRegular is readRegularInto a buffer of its own, which becomes the
// string without a copy (and which ReadFile hands over): a large file
// costs its size once, not the doublings of a growing buffer and a copy.
func readRegular(name string, max int64) (string, error) {
	b, err := readRegularInto(name, max, nil)
	if err != nil {
		return "", err
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), nil
}

// limitError is an exceeded limit met while reading a file; it is
// ErrLimit for errors.Is without repeating the package prefix.
type limitError string

func (e limitError) Error() string        { return string(e) }
func (e limitError) Is(target error) bool { return target == ErrLimit }

// fileType names the type of a file that is not a regular one.
func fileType(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	}
	return m.Type().String()
}
