package haproxy

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// ErrBadUnit reports a time or size with a unit HAProxy does not know.
var ErrBadUnit = errors.New("haproxy: unknown unit")

// ErrTrailingUnit reports characters after a valid time unit ("2sec").
// HAProxy 2.6 accepts the value with a warning; ParseDuration returns the
// value together with this error.
var ErrTrailingUnit = errors.New("haproxy: characters after the time unit")

// maxTimeout is the largest timer HAProxy accepts: 2^31-1 milliseconds.
const maxTimeout = time.Duration(math.MaxInt32) * time.Millisecond

// ParseDuration parses a time the way HAProxy reads timeouts and check
// intervals: an unsigned integer followed by us, ms, s, m, h or d, or no
// unit for milliseconds. Fractions are not allowed and values above
// 2^31-1 ms overflow HAProxy's timers.
func ParseDuration(s string) (time.Duration, error) {
	i := 0
	var n uint64
	for i < len(s) && isDigit(s[i]) {
		n = n*10 + uint64(s[i]-'0')
		if n > 1<<42 {
			return 0, fmt.Errorf("time %q: timer overflow", s)
		}
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("time %q: expected a number", s)
	}
	var unit time.Duration
	suffix := s[i:]
	var junk error
	// HAProxy 2.6 only warns about characters after a valid unit
	// ("2sec"); report them with ErrTrailingUnit next to the value.
	for _, u := range []string{"us", "ms", "s", "m", "h", "d"} {
		if len(suffix) > len(u) && suffix[:len(u)] == u && !(u == "m" && suffix[1] == 's') {
			junk = classError(ErrTrailingUnit, fmt.Sprintf("time %q: unexpected character %q after the unit", s, suffix[len(u)]))
			suffix = u
			break
		}
	}
	switch suffix {
	case "":
		unit = time.Millisecond
	case "us":
		unit = time.Microsecond
	case "ms":
		unit = time.Millisecond
	case "s":
		unit = time.Second
	case "m":
		unit = time.Minute
	case "h":
		unit = time.Hour
	case "d":
		unit = 24 * time.Hour
	default:
		return 0, classError(ErrBadUnit, fmt.Sprintf("time %q: unexpected character %q: unknown unit", s, s[i]))
	}
	if n > uint64(maxTimeout/unit) {
		return 0, fmt.Errorf("time %q: timer overflow (max 2147483647ms)", s)
	}
	return time.Duration(n) * unit, junk
}

// FormatDuration writes d with the largest HAProxy unit that represents it
// exactly (sub-microsecond parts are rounded up to the microsecond).
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	if r := d % time.Microsecond; r != 0 {
		d += time.Microsecond - r
	}
	units := []struct {
		u    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}}
	for _, u := range units {
		if d%u.u == 0 {
			return strconv.FormatInt(int64(d/u.u), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(d/time.Microsecond), 10) + "us"
}

// ParseSize parses a size the way HAProxy does: an unsigned integer
// optionally followed by k, m or g (powers of 1024, either case).
func ParseSize(s string) (uint64, error) {
	i := 0
	var n uint64
	for i < len(s) && isDigit(s[i]) {
		if n > (math.MaxUint64-9)/10 {
			return 0, fmt.Errorf("size %q: overflow", s)
		}
		n = n*10 + uint64(s[i]-'0')
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("size %q: expected a number", s)
	}
	var mul uint64 = 1
	switch s[i:] {
	case "":
	case "k", "K":
		mul = 1 << 10
	case "m", "M":
		mul = 1 << 20
	case "g", "G":
		mul = 1 << 30
	default:
		return 0, classError(ErrBadUnit, fmt.Sprintf("size %q: unexpected character %q: unknown unit", s, s[i]))
	}
	if n > math.MaxUint64/mul {
		return 0, fmt.Errorf("size %q: overflow", s)
	}
	return n * mul, nil
}

// FormatSize writes n with the largest of g, m, k that divides it.
func FormatSize(n uint64) string {
	switch {
	case n != 0 && n%(1<<30) == 0:
		return strconv.FormatUint(n>>30, 10) + "g"
	case n != 0 && n%(1<<20) == 0:
		return strconv.FormatUint(n>>20, 10) + "m"
	case n != 0 && n%(1<<10) == 0:
		return strconv.FormatUint(n>>10, 10) + "k"
	}
	return strconv.FormatUint(n, 10)
}
