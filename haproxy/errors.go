package haproxy

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Position is a place in a configuration file. Line and Col are 1-based;
// Col counts bytes.
type Position struct {
	Filename  string
	Line, Col int
}

// String formats the position as file:line:col, with control characters
// in the file name escaped.
func (p Position) String() string {
	return fmt.Sprintf("%s:%d:%d", sanitize(p.Filename, 0), p.Line, p.Col)
}

// Error is one finding of Validate or Check, at its place: an error
// HAProxy rejects the file for, or a warning about what the package does
// not know.
type Error struct {
	Pos Position
	// Msg says what is wrong. Text taken from the file is escaped
	// (control characters as \xNN) and shortened, so that printing Msg
	// never drives a terminal.
	Msg string
	// Err is the class of the finding (ErrSyntax, ErrBadValue...), for
	// errors.Is; it may be nil.
	Err error
}

// Error returns "file:line:col: msg".
func (e Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Unwrap returns the class of the finding.
func (e Error) Unwrap() error { return e.Err }

// ErrorList is a list of findings in file order.
type ErrorList []Error

// Error returns one finding per line.
func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the findings for errors.Is / errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Classes of findings, for errors.Is.
var (
	ErrSyntax          = errors.New("haproxy: syntax error")
	ErrOutOfSection    = errors.New("haproxy: keyword out of section")
	ErrUnknownSection  = errors.New("haproxy: unknown section keyword")
	ErrServerPlacement = errors.New("haproxy: server outside a backend or listen section")
	ErrPlacement       = errors.New("haproxy: keyword not allowed in this section")
	ErrMissingACL      = errors.New("haproxy: missing ACL")
	ErrMissingLF       = errors.New("haproxy: missing LF on last line")
	ErrUnknownKeyword  = errors.New("haproxy: unknown keyword")
	ErrBadValue        = errors.New("haproxy: invalid value")
	ErrDuplicateProxy  = errors.New("haproxy: duplicate proxy name")
	ErrMissingBackend  = errors.New("haproxy: missing backend")
	ErrMissingName     = errors.New("haproxy: missing section name")
	ErrBadName         = errors.New("haproxy: invalid character in name")
	ErrBindOnHeader    = errors.New("haproxy: listening address on section line")
	ErrConditional     = errors.New("haproxy: unbalanced conditional block")
	ErrMissingDefaults = errors.New("haproxy: missing defaults section")
	ErrDuplicateServer = errors.New("haproxy: duplicate server name")
	ErrTrack           = errors.New("haproxy: invalid server tracking")
	ErrTooManyErrors   = errors.New("haproxy: too many findings")
)

// msgOf returns an error's text without the package prefix, for messages
// that already say where they come from.
func msgOf(err error) string { return strings.TrimPrefix(err.Error(), "haproxy: ") }

// classedError is an error whose text says it all and that matches its
// class with errors.Is, without the class's text in the middle of it.
type classedError struct {
	class error
	msg   string
}

func classError(class error, msg string) error { return &classedError{class, msg} }

func (e *classedError) Error() string        { return e.msg }
func (e *classedError) Is(target error) bool { return target == e.class }

// maxQuoted is how much of a word from the file a message quotes.
const maxQuoted = 80

// sanitize returns s safe to print on a terminal: control characters,
// DEL and invalid UTF-8 become \xNN, and text beyond max bytes is cut
// and marked with "...". A max of 0 or less keeps the whole length.
func sanitize(s string, max int) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean && (max <= 0 || len(s) <= max) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if max > 0 && b.Len() >= max {
			b.WriteString("...")
			break
		}
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
