package keepalivedconf

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Sentinel errors that diagnostics wrap, for errors.Is.
var (
	// ErrSyntax marks structural problems: unbalanced braces, unterminated
	// quotes, malformed definitions or ~SEQ lines.
	ErrSyntax = errors.New("syntax error")
	// ErrUnknownKeyword marks a keyword keepalived does not know in its
	// context. keepalived ignores such lines but `keepalived -t` fails.
	ErrUnknownKeyword = errors.New("unknown keyword")
	// ErrInvalid marks a value keepalived rejects: out of range numbers,
	// bad addresses, unknown enumerations, missing parameters.
	ErrInvalid = errors.New("invalid value")
	// ErrLint marks findings of Lint: legal configurations that are very
	// likely mistakes.
	ErrLint = errors.New("lint")
	// ErrInclude marks include files that could not be read.
	ErrInclude = errors.New("include")
)

// Severity orders diagnostics.
type Severity uint8

// Severities.
const (
	// SeverityError is a problem keepalived rejects or that makes it
	// ignore a value or block.
	SeverityError Severity = iota
	// SeverityWarning is a problem keepalived only reports (unknown
	// keywords); `keepalived -t` still exits non-zero for it.
	SeverityWarning
	// SeverityLint is a finding of Lint that keepalived does not report.
	SeverityLint
)

// String names the severity.
func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	default:
		return "lint"
	}
}

// Diagnostic is one problem found in a configuration, with its place.
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Msg      string
	// Err is the sentinel the diagnostic wraps (ErrSyntax, ErrInvalid...).
	Err error
}

// Error formats the diagnostic as "file:line:col: severity: message".
func (d Diagnostic) Error() string {
	return d.Pos.String() + ": " + d.Severity.String() + ": " + d.Msg
}

// Unwrap returns the sentinel error of the diagnostic's class.
func (d Diagnostic) Unwrap() error { return d.Err }

// ErrorList is a list of diagnostics returned as one error. errors.Is and
// errors.As see every element.
type ErrorList []Diagnostic

// Error lists the diagnostics one per line.
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

// Unwrap exposes each diagnostic to errors.Is / errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, d := range l {
		out[i] = d
	}
	return out
}

// HasErrors reports whether the list holds a diagnostic of SeverityError.
func (l ErrorList) HasErrors() bool {
	for _, d := range l {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Sort orders the list by file, line and column, keeping the order of
// diagnostics at the same place.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.File != b.File {
			return a.File < b.File
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

// diags collects diagnostics.
type diags struct{ list ErrorList }

func (d *diags) add(p Pos, sev Severity, class error, format string, args ...any) {
	d.list = append(d.list, Diagnostic{Pos: p, Severity: sev, Msg: fmt.Sprintf(format, args...), Err: class})
}

func (d *diags) errorf(p Pos, class error, format string, args ...any) {
	d.add(p, SeverityError, class, format, args...)
}
