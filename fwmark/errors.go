package fwmark

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors wrapped by validation and parse errors; test for them
// with errors.Is.
var (
	// ErrMarkZero: mark 0 means "unmarked" to the kernel, so IPVS cannot
	// build a firewall-mark service on it.
	ErrMarkZero = errors.New("fwmark: mark must not be 0")
	// ErrPortZero: port 0 is not a destination port anything listens on.
	ErrPortZero = errors.New("fwmark: port must not be 0")
	// ErrPort: a port that is not a number in 1-65535.
	ErrPort = errors.New("fwmark: bad port")
	// ErrPortOrder: a range whose first port is above its last.
	ErrPortOrder = errors.New("fwmark: port range runs backwards")
	// ErrProtocol: a protocol other than tcp, udp or sctp.
	ErrProtocol = errors.New("fwmark: unsupported protocol")
	// ErrNoDestination: a rule without a destination address.
	ErrNoDestination = errors.New("fwmark: destination address required")
	// ErrFamily: a rule mixing IPv4 and IPv6 (family against address,
	// IPv4-mapped IPv6 addresses).
	ErrFamily = errors.New("fwmark: address family mismatch")
	// ErrHostBits: a prefix with bits set past its length.
	ErrHostBits = errors.New("fwmark: prefix has host bits set")
	// ErrOverlap: two rules match the same packets but set different marks.
	ErrOverlap = errors.New("fwmark: overlapping rules set different marks")
	// ErrSyntax: a config line that does not parse.
	ErrSyntax = errors.New("fwmark: syntax error")
)

// FieldError places a validation error on a field of a rule, such as
// "rules[2].ports[1]".
type FieldError struct {
	Field string
	Err   error
}

// Error returns "field: cause".
func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the underlying (usually sentinel) error.
func (e *FieldError) Unwrap() error { return e.Err }

// withIndex prefixes the field of err with "rules[i].".
func withIndex(i int, err error) error {
	prefix := "rules[" + strconv.Itoa(i) + "]"
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: prefix + "." + fe.Field, Err: fe.Err}
	}
	return &FieldError{Field: prefix, Err: err}
}

// Position is a place in a config file.
type Position struct {
	Filename  string
	Line, Col int // 1-based; 0 when unknown
}

// String returns "file:line:col", leaving out what is unknown.
func (p Position) String() string {
	s := p.Filename
	if s == "" {
		s = "<input>"
	}
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
		if p.Col > 0 {
			s += ":" + strconv.Itoa(p.Col)
		}
	}
	return s
}

// Error is one problem of a config file, at its position. Err, when set, is
// the cause (a sentinel error, through a *FieldError for validation
// problems).
type Error struct {
	Pos Position
	Msg string
	Err error
}

// Error returns "file:line:col: msg".
func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorList is every problem Parse found, in file order.
type ErrorList []Error

// Error returns the errors one per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i := range l {
		lines[i] = l[i].Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns each *Error, so that errors.Is and errors.As see every
// cause.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i := range l {
		errs[i] = &l[i]
	}
	return errs
}

// newError places err at pos.
func newError(pos Position, err error) Error { return Error{Pos: pos, Msg: err.Error(), Err: err} }
