package keepalivedconf

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// nargs reports whether s has at least n words, and reports a missing
// parameter when not.
func (dec *decoder) nargs(s *Stmt, n int) bool {
	if len(s.Tokens) >= n {
		return true
	}
	dec.d.errorf(s.Pos, ErrInvalid, "'%s' is missing a parameter at word position %d", s.Keyword(), len(s.Tokens)+1)
	return false
}

// integer reads word i as a decimal integer in [lo, hi].
func (dec *decoder) integer(s *Stmt, i int, lo, hi int64) (int64, bool) {
	if !dec.nargs(s, i+1) {
		return 0, false
	}
	w := s.Arg(i)
	for w != "" && (w[0] == ' ' || w[0] == '\t') {
		w = w[1:]
	}
	v, err := strconv.ParseInt(w, 10, 64)
	if err != nil {
		dec.d.errorf(s.ArgPos(i), ErrInvalid, "%s: invalid number '%s'", s.Keyword(), s.Arg(i))
		return 0, false
	}
	if v < lo || v > hi {
		dec.d.errorf(s.ArgPos(i), ErrInvalid, "%s: number '%s' outside range [%d, %d]", s.Keyword(), s.Arg(i), lo, hi)
		return 0, false
	}
	return v, true
}

func (dec *decoder) setInt(dst *int, s *Stmt, i int, lo, hi int64) {
	if v, ok := dec.integer(s, i, lo, hi); ok {
		*dst = int(v)
	}
}

// seconds reads word i as a (possibly fractional) number of seconds in
// [lo, hi] seconds.
func (dec *decoder) seconds(s *Stmt, i int, lo, hi float64) (time.Duration, bool) {
	if !dec.nargs(s, i+1) {
		return 0, false
	}
	v, err := parseSeconds(s.Arg(i))
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		dec.d.errorf(s.ArgPos(i), ErrInvalid, "%s: invalid number '%s'", s.Keyword(), s.Arg(i))
		return 0, false
	}
	if v < lo || v > hi {
		dec.d.errorf(s.ArgPos(i), ErrInvalid, "%s: number '%s' outside range [%g, %g]", s.Keyword(), s.Arg(i), lo, hi)
		return 0, false
	}
	return time.Duration(v * float64(time.Second)), true
}

// parseSeconds is strconv.ParseFloat with a short cut for the usual
// whole number of seconds (at most 15 digits, so exactly representable).
func parseSeconds(w string) (float64, error) {
	if len(w) == 0 || len(w) > 15 {
		return strconv.ParseFloat(w, 64)
	}
	n := int64(0)
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !isDigit(c) {
			return strconv.ParseFloat(w, 64)
		}
		n = n*10 + int64(c-'0')
	}
	return float64(n), nil
}

func (dec *decoder) setSeconds(dst *time.Duration, s *Stmt, i int, lo, hi float64) {
	if v, ok := dec.seconds(s, i, lo, hi); ok {
		*dst = v
	}
}

// maxTimer is keepalived's largest timer, in seconds.
const maxTimer = float64(math.MaxUint32) / 1e6

// boolArg reads an optional on/off word after a flag keyword; a flag alone
// means true.
func (dec *decoder) boolArg(s *Stmt, i int) bool {
	if len(s.Tokens) <= i {
		return true
	}
	switch s.Arg(i) {
	case "on", "true", "yes":
		return true
	case "off", "false", "no":
		return false
	}
	dec.d.errorf(s.ArgPos(i), ErrInvalid, "%s: invalid boolean '%s'", s.Keyword(), s.Arg(i))
	return true
}

// addr reads word i as an IP address.
func (dec *decoder) addr(s *Stmt, i int) (netip.Addr, bool) {
	if !dec.nargs(s, i+1) {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s.Arg(i))
	if err != nil || a.Zone() != "" {
		dec.d.errorf(s.ArgPos(i), ErrInvalid, "%s: invalid address '%s'", s.Keyword(), s.Arg(i))
		return netip.Addr{}, false
	}
	return a, true
}

// port reads word i as a port number.
func (dec *decoder) port(s *Stmt, i int) (uint16, bool) {
	v, ok := dec.integer(s, i, 0, 65535)
	return uint16(v), ok
}

// str reads word i as a string: a copy, so that a Config's strings do
// not keep the parsed text alive (a Piece.Frozen file's buffer).
func (dec *decoder) str(dst *string, s *Stmt, i int) {
	if dec.nargs(s, i+1) {
		*dst = strings.Clone(s.Arg(i))
	}
}

// script reads a script keyword: the rest of the line, as keepalived's
// shell-like splitting gives it to the notify code.
func (dec *decoder) script(dst *string, s *Stmt) {
	if !dec.nargs(s, 2) {
		return
	}
	*dst = strings.Clone(scriptText(s))
	// keepalived refuses a line it cannot split (an open quote, a
	// trailing backslash); so do we, where the line is
	if _, err := ScriptArgv(*dst); err != nil {
		dec.d.errorf(s.ArgPos(1), ErrInvalid, "%s: %v", s.Keyword(), strings.TrimPrefix(err.Error(), "keepalivedconf: "))
	}
}

// scriptText returns the command of a script keyword as written.
func scriptText(s *Stmt) string {
	if len(s.Tokens) == 2 {
		return s.Arg(1)
	}
	// the command as written: keepalived splits it again with shell-like
	// quoting (see ScriptArgv), so blanks inside quotes matter
	text, ok := s.text()
	if !ok && s.form == formJoined {
		text, ok = s.render(), true
	}
	if off := s.Tokens[1].Col - s.Pos.Col; ok && off > 0 && off < len(text) {
		return text[off:]
	}
	parts := make([]string, 0, len(s.Tokens)-1)
	for _, t := range s.Tokens[1:] {
		parts = append(parts, t.Text)
	}
	return strings.Join(parts, " ")
}

// values returns the active entries of a value block (virtual_ipaddress,
// notification_email, group...).
func (dec *decoder) values(s *Stmt, body []*Stmt) []*Stmt {
	if s.Block == nil {
		dec.d.errorf(s.Pos, ErrSyntax, "'{' missing from beginning of block %s", s.Keyword())
		return nil
	}
	if len(s.Tokens) > 1 {
		dec.d.errorf(s.ArgPos(1), ErrSyntax, "block %s has extra parameters %s ...", s.Keyword(), s.Arg(1))
	}
	out := make([]*Stmt, 0, len(body))
	for _, c := range body {
		if active(c) {
			out = append(out, c)
		}
	}
	return out
}

func (dec *decoder) noBlock(s *Stmt) {
	if s.Block != nil {
		dec.d.errorf(s.Block.Open, ErrSyntax, "unexpected '{' after %s", s.Keyword())
	}
}

func blockStmts(s *Stmt) []*Stmt {
	if s.Block == nil {
		return nil
	}
	return s.Block.Stmts
}

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
