package fwmark

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// Config is a small desired-state file, as read by Parse:
//
//	# HTTP and HTTPS as one IPVS service
//	table lvskit
//	mark 80 tcp 192.168.76.24/32 80,443
//	# FTP control and passive data ports
//	mark 21 tcp 192.168.76.24 21,10000-20000
//
// A "mark" line is: mark MARK PROTOCOL DESTINATION PORTS, where
// DESTINATION is an address or prefix (a bare address means /32 or /128)
// and PORTS is "all" or a comma-separated list of ports and FROM-TO ranges.
// "table NAME" (optional, once) names the nftables table. '#' starts a
// comment.
type Config struct {
	Table string
	Rules Rules
	// Lines holds, for each rule, the line it came from (for errors).
	Lines []int
}

// maxFileSize caps what ParseFile reads: a config of marks is small.
const maxFileSize = 16 << 20

// ParseFile reads and parses the config file at filename, which must be a
// regular file of at most 16 MiB.
func ParseFile(filename string) (*Config, error) {
	f, err := os.Open(filename)
	if err != nil {
		return nil, fmt.Errorf("fwmark: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("fwmark: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, ErrorList{newError(Position{Filename: filename}, fmt.Errorf("%w: not a regular file", ErrSyntax))}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("fwmark: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, ErrorList{newError(Position{Filename: filename}, fmt.Errorf("%w: larger than %d bytes", ErrSyntax, maxFileSize))}
	}
	return Parse(filename, data)
}

// Parse parses the config text data. filename is used in error positions
// ("fwmark.conf:3:12: ..."). Every bad line is reported, then the rules
// are validated; the error is an ErrorList whose entries wrap their cause
// (a sentinel error, through a *FieldError for validation problems).
func Parse(filename string, data []byte) (*Config, error) {
	name := filename
	c := &Config{}
	line := 0
	tableLine := 0
	var errs ErrorList
	for rest := string(data); rest != ""; {
		var text string
		text, rest, _ = strings.Cut(rest, "\n")
		line++
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		fields := splitFields(text)
		if len(fields) == 0 {
			continue
		}
		if err := c.parseLine(name, line, fields, &tableLine); err != nil {
			errs = append(errs, *err)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if err := c.Rules.Validate(); err != nil {
		return nil, c.place(name, err)
	}
	return c, nil
}

// parseLine reads one line of fields into c.
func (c *Config) parseLine(name string, line int, fields []field, tableLine *int) *Error {
	perr := func(f field, format string, args ...any) *Error {
		e := newError(Position{Filename: name, Line: line, Col: f.col}, fmt.Errorf(format, args...))
		return &e
	}
	switch fields[0].s {
	case "table":
		if len(fields) != 2 {
			return perr(fields[0], "%w: want: table NAME", ErrSyntax)
		}
		if *tableLine != 0 {
			return perr(fields[0], "%w: table already set on line %d", ErrSyntax, *tableLine)
		}
		if !validName(fields[1].s) {
			return perr(fields[1], "%w: bad table name %q (letters, digits, _ and -; at most 32)", ErrSyntax, fields[1].s)
		}
		c.Table, *tableLine = fields[1].s, line
	case "mark":
		if len(fields) != 5 {
			return perr(fields[0], "%w: want: mark MARK PROTOCOL DESTINATION PORTS", ErrSyntax)
		}
		var r Rule
		m, err := strconv.ParseUint(fields[1].s, 0, 32)
		if err != nil {
			return perr(fields[1], "%w: bad mark %q", ErrSyntax, fields[1].s)
		}
		if m == 0 {
			return perr(fields[1], "%w", ErrMarkZero)
		}
		r.Mark = uint32(m)
		if r.Protocol, err = ParseProtocol(fields[2].s); err != nil {
			return perr(fields[2], "%w", err)
		}
		if r.Dst, err = parseDst(fields[3].s); err != nil {
			return perr(fields[3], "%w", err)
		}
		if fields[4].s != "all" {
			col := fields[4].col
			for _, p := range strings.Split(fields[4].s, ",") {
				pr, err := ParsePortRange(p)
				if err != nil {
					return perr(field{p, col}, "%w", err)
				}
				r.Ports = append(r.Ports, pr)
				col += len(p) + 1
			}
		}
		c.Rules = append(c.Rules, r)
		c.Lines = append(c.Lines, line)
	default:
		return perr(fields[0], "%w: unknown keyword %q (want mark or table)", ErrSyntax, fields[0].s)
	}
	return nil
}

// place puts a validation error of rule i on the line rule i came from.
func (c *Config) place(name string, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		var i int
		if _, e := fmt.Sscanf(fe.Field, "rules[%d]", &i); e == nil && i >= 0 && i < len(c.Lines) {
			return ErrorList{newError(Position{Filename: name, Line: c.Lines[i]}, err)}
		}
	}
	return ErrorList{newError(Position{Filename: name}, err)}
}

func parseDst(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("%w: bad destination %q", ErrSyntax, s)
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%w: bad destination %q", ErrSyntax, s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// validName accepts names that nft and the kernel take for a table
// without quoting.
func validName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-'):
		default:
			return false
		}
	}
	return true
}

type field struct {
	s   string
	col int
}

func splitFields(s string) []field {
	var out []field
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' || s[i] == '\t' || s[i] == '\r' {
			if start >= 0 {
				out = append(out, field{s[start:i], start + 1})
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	return out
}

// Format prints c in the syntax Parse reads.
func (c *Config) Format() string {
	var b strings.Builder
	if c.Table != "" {
		b.WriteString("table " + c.Table + "\n")
	}
	for _, r := range c.Rules {
		b.WriteString(r.String() + "\n")
	}
	return b.String()
}
