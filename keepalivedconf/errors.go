package keepalivedconf

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sentinel errors that each Error wraps, for errors.Is.
var (
	// ErrSyntax marks structural problems: unbalanced braces, unterminated
	// quotes, malformed definitions or ~SEQ lines, over-long lines.
	ErrSyntax = errors.New("keepalivedconf: syntax error")
	// ErrUnknownKeyword marks a keyword keepalived does not know in its
	// context. keepalived ignores such lines but `keepalived -t` fails.
	ErrUnknownKeyword = errors.New("keepalivedconf: unknown keyword")
	// ErrInvalid marks a value keepalived rejects: out of range numbers,
	// bad addresses, unknown enumerations, missing parameters.
	ErrInvalid = errors.New("keepalivedconf: invalid value")
	// ErrLint marks findings of Lint: legal configurations that are very
	// likely mistakes.
	ErrLint = errors.New("keepalivedconf: lint")
	// ErrInclude marks include files that could not be read.
	ErrInclude = errors.New("keepalivedconf: include")
	// ErrLimit marks input beyond one of the Limits: too deep, too large,
	// too many includes or expansion steps.
	ErrLimit = errors.New("keepalivedconf: limit exceeded")
	// ErrTooManyErrors marks the last element of a list cut at
	// Limits.MaxErrors; its message says how many were left out.
	ErrTooManyErrors = errors.New("keepalivedconf: too many errors")
)

// Position is a place in a configuration file. Line and Col count from 1;
// Col counts bytes.
type Position struct {
	Filename string
	Line     int
	Col      int
}

// String formats the position as file:line:col (or line:col without a
// file name). Control characters in the file name are escaped.
func (p Position) String() string {
	var b strings.Builder
	if p.Filename != "" {
		b.WriteString(escape(p.Filename))
		b.WriteByte(':')
	}
	b.WriteString(itoa(p.Line))
	b.WriteByte(':')
	b.WriteString(itoa(p.Col))
	return b.String()
}

// Error is one problem found in a configuration, with its place.
type Error struct {
	Pos Position
	// Msg describes the problem; control characters are escaped.
	Msg string
	// Err is the sentinel the error wraps (ErrSyntax, ErrInvalid...).
	Err error
}

// Error formats the error as "file:line:col: message".
func (e Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Unwrap returns the sentinel error of the error's class.
func (e Error) Unwrap() error { return e.Err }

// ErrorList is a list of errors returned as one error. errors.Is and
// errors.As see every element.
type ErrorList []Error

// Error lists the errors one per line.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, d := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.Error())
	}
	return b.String()
}

// Unwrap exposes each error to errors.Is / errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, d := range l {
		out[i] = d
	}
	return out
}

// Sort orders the list by file, line and column, keeping the order of
// errors at the same place.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// Err returns the list as an error, or nil when it is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// dedup drops repeated errors of a sorted list (an include's syntax
// errors are found both when it is read and when the expansion is parsed).
func dedup(l ErrorList) ErrorList {
	out := l[:0]
	for i, e := range l {
		if i > 0 && e.Pos == l[i-1].Pos && e.Msg == l[i-1].Msg {
			continue
		}
		out = append(out, e)
	}
	return out
}

// capped returns l cut to at most max elements (max <= 0: no cut), the
// last one saying how many more there were.
func (l ErrorList) capped(max int) ErrorList {
	if max <= 0 || len(l) <= max {
		return l
	}
	more := len(l) - (max - 1)
	out := l[: max-1 : max-1]
	return append(out, Error{Pos: l[max-1].Pos, Msg: strconv.Itoa(more) + " more errors not shown", Err: ErrTooManyErrors})
}

// severity sorts what a reader finds: errors (keepalived rejects the value
// or the line), warnings (keepalived reports them and carries on; `keepalived
// -t` still exits non-zero) and lint findings (keepalived says nothing).
type severity uint8

const (
	sevError severity = iota
	sevWarning
	sevLint
)

// diags collects errors, warnings and lint findings apart.
type diags struct {
	list  ErrorList
	warn  ErrorList
	lints ErrorList
}

func (d *diags) add(p Position, sev severity, class error, format string, args ...any) {
	e := Error{Pos: p, Msg: escape(fmt.Sprintf(format, args...)), Err: class}
	switch sev {
	case sevError:
		d.list = append(d.list, e)
	case sevWarning:
		d.warn = append(d.warn, e)
	default:
		d.lints = append(d.lints, e)
	}
}

func (d *diags) errorf(p Position, class error, format string, args ...any) {
	d.add(p, sevError, class, format, args...)
}

// merge appends the findings of o.
func (d *diags) merge(o *diags) {
	d.list = append(d.list, o.list...)
	d.warn = append(d.warn, o.warn...)
	d.lints = append(d.lints, o.lints...)
}

// escape replaces control characters and invalid UTF-8 by Go escapes, so
// that a hostile file cannot write terminal control sequences through a
// message.
func escape(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= utf8.RuneSelf {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
