package check

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// File is keepalived's FILE_CHECK (track_file): the file holds an integer
// that some other process writes.
//
// With Weight zero, the target is up when the value is 0 and down
// otherwise. With Weight set, the value times Weight (negated by Reverse)
// is reported as the Result's weight, and a product of -254 or less marks
// the target down, as keepalived treats tracked files.
type File struct {
	// Path is the file to read.
	Path string
	// Weight multiplies the value read.
	Weight int
	// Reverse negates the product.
	Reverse bool
}

// maxFileBytes caps how much of the file is read.
const maxFileBytes = 64

// Check reads the file once.
func (c File) Check(ctx context.Context) Result {
	start := time.Now()
	f, err := os.Open(c.Path)
	if err != nil {
		return down(start, "open", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return down(start, "read", err)
	}
	if len(b) > maxFileBytes {
		return failf(start, "%s: more than %d bytes", c.Path, maxFileBytes)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		// keepalived reads an empty file as 0.
		s = "0"
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return down(start, c.Path, fmt.Errorf("%w: not an integer: %q", ErrCheck, s))
	}
	return fileResult(start, int(v), c.Weight, c.Reverse)
}

func fileResult(start time.Time, v, weight int, reverse bool) Result {
	if weight == 0 {
		if v != 0 {
			return failf(start, "file value %d", v)
		}
		return up(start)
	}
	w := v * weight
	if reverse {
		w = -w
	}
	if w <= -254 {
		return failf(start, "file value %d gives weight %d", v, w)
	}
	r := up(start)
	r.Weight = Weight{Set: true, Value: w}
	return r
}
