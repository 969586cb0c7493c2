package fwmark

import (
	"errors"
	"strconv"
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

// PosError places an error at file:line:col of a config file.
type PosError struct {
	File      string
	Line, Col int
	Err       error
}

// Error returns "file:line:col: cause".
func (e *PosError) Error() string {
	s := e.File
	if s == "" {
		s = "<input>"
	}
	s += ":" + strconv.Itoa(e.Line)
	if e.Col > 0 {
		s += ":" + strconv.Itoa(e.Col)
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *PosError) Unwrap() error { return e.Err }
