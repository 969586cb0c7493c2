package haproxy

import (
	"errors"
	"fmt"
	"strconv"
)

// MaxWeight is the largest server weight HAProxy accepts.
const MaxWeight = 256

// ErrBadWeight reports a weight HAProxy's "set weight" refuses.
var ErrBadWeight = errors.New("haproxy: invalid weight")

// Weight is a weight as the runtime API's "set server ... weight" takes
// it: absolute (0..256) or relative to the server's initial weight.
type Weight struct {
	// Value is the weight, or the percentage when Relative.
	Value int
	// Relative is true for "N%".
	Relative bool
}

// ParseWeight reads a weight as HAProxy 2.6 does: an integer as strtol
// reads it (leading spaces and a sign allowed), 0 to 256, or a
// non-negative integer followed by '%', relative to the initial weight;
// nothing may follow.
func ParseWeight(s string) (Weight, error) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	j := i
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		j++
	}
	k := j
	for k < len(s) && isDigit(s[k]) {
		k++
	}
	if k == j {
		return Weight{}, fmt.Errorf("%w %q: no number", ErrBadWeight, sanitize(s, maxQuoted))
	}
	n, err := strconv.ParseInt(s[i:k], 10, 64)
	if err != nil { // out of range: strtol saturates
		n = 1 << 62
		if s[i] == '-' {
			n = -n
		}
	}
	rest := s[k:]
	if rest == "%" {
		if n < 0 {
			return Weight{}, fmt.Errorf("%w %q: a relative weight must be positive", ErrBadWeight, s)
		}
		return Weight{Value: int(min(n, 25600)), Relative: true}, nil
	}
	if n < 0 || n > MaxWeight {
		return Weight{}, fmt.Errorf("%w %q: not between 0 and %d", ErrBadWeight, sanitize(s, maxQuoted), MaxWeight)
	}
	if rest != "" {
		return Weight{}, fmt.Errorf("%w %q: trailing characters", ErrBadWeight, sanitize(s, maxQuoted))
	}
	return Weight{Value: int(n)}, nil
}

// Of returns the absolute weight for a server whose initial weight is
// initial, as HAProxy computes it (a percentage rounds down, capped at
// 256).
func (w Weight) Of(initial int) int {
	if !w.Relative {
		return w.Value
	}
	return min(initial*w.Value/100, MaxWeight)
}

// String returns the weight as HAProxy reads it: "N" or "N%".
func (w Weight) String() string {
	if w.Relative {
		return strconv.Itoa(w.Value) + "%"
	}
	return strconv.Itoa(w.Value)
}
