package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// BodyRegex is keepalived's url regex: a pattern the HTTP response must
// match (or, with NoMatch, must not), starting within [MinOffset,
// MaxOffset]. As in keepalived, the subject is the response as read from
// the socket, status line and headers included, and offsets count from
// its first byte. (keepalived skips the headers when they arrive in a
// read of their own, without the body; small responses arrive whole.)
//
// keepalived compiles the pattern with PCRE2; Go's regexp (RE2 syntax)
// stands in for it. CompileBodyRegex refuses what RE2 cannot do with the
// same meaning (back-references, look-around, PCRE-only options), so a
// pattern it accepts matches what PCRE2 matches, with these documented
// differences: the subject is always read as UTF-8 (PCRE2 without the utf
// option reads bytes, which differs only for non-ASCII bodies), and ^ and
// \b at MinOffset see the offset as the start of the text.
type BodyRegex struct {
	re *regexp.Regexp
	// NoMatch inverts the check: the response must not match
	// (regex_no_match).
	NoMatch bool
	// MinOffset is the first offset a match may start at.
	MinOffset int
	// MaxOffset is the last offset a match may start at; negative
	// means no limit.
	MaxOffset int

	// endOnly is PCRE2_DOLLAR_ENDONLY or multiline: $ never matches
	// before a final newline (PCRE2's default is that it does).
	endOnly bool
	// firstLine is PCRE2_FIRSTLINE: the match starts on the first line.
	firstLine bool
}

// ErrRegexOption is returned for a regex option that lvskit does not
// support.
var ErrRegexOption = errors.New("check: regex option not supported")

// regexFlags are the options Go's regexp has an inline flag for.
var regexFlags = map[string]string{"caseless": "i", "dotall": "s", "multiline": "m", "ungreedy": "U"}

// regexNoEffect are options that change how PCRE2 searches, or what it
// refuses, but not what matches a pattern RE2 accepts.
var regexNoEffect = map[string]bool{
	"no_auto_capture": true, "no_auto_possess": true, "no_start_optimize": true,
	"no_dotstar_anchor": true, "use_offset_limit": true, "utf": true, "never_utf": true,
	"never_ucp": true, "never_backslash_c": true,
}

// regexPCREOnly are keepalived's options RE2 cannot honour.
var regexPCREOnly = map[string]bool{
	"allow_empty_class": true, "alt_bsux": true, "auto_callout": true, "dupnames": true,
	"extended": true, "match_unset_backref": true, "ucp": true, "alt_circumflex": true,
	"alt_verbnames": true,
}

// CompileBodyRegex compiles a keepalived regex with its regex_options
// (keepalived's names: caseless, dotall, multiline, ungreedy,
// dollar_endonly, firstline, and the ones without effect on what matches).
// MaxOffset of the result is -1 (no limit).
func CompileBodyRegex(pattern string, options []string) (*BodyRegex, error) {
	b := &BodyRegex{MaxOffset: -1}
	var flags strings.Builder
	for _, o := range options {
		switch {
		case regexFlags[o] != "":
			flags.WriteString(regexFlags[o])
			if o == "multiline" {
				b.endOnly = true
			}
		case o == "dollar_endonly":
			b.endOnly = true
		case o == "firstline":
			b.firstLine = true
		case regexNoEffect[o]:
		case regexPCREOnly[o]:
			return nil, fmt.Errorf("%w: %s (PCRE2 only)", ErrRegexOption, o)
		default:
			return nil, fmt.Errorf("%w: unknown option %q", ErrRegexOption, o)
		}
	}
	p := pattern
	if flags.Len() > 0 {
		p = "(?" + flags.String() + ")" + p
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("check: regex %q: %w", pattern, err)
	}
	b.re = re
	return b, nil
}

// String returns the pattern as compiled.
func (b *BodyRegex) String() string { return b.re.String() }

// Matches reports whether the pattern matches body with a match starting
// within the offsets (before NoMatch is applied).
func (b *BodyRegex) Matches(body []byte) bool {
	if b.MinOffset > len(body) {
		return false
	}
	subject := body[b.MinOffset:]
	if b.find(subject) {
		return true
	}
	// PCRE2's $ also matches before a newline that ends the subject.
	if !b.endOnly && len(subject) > 0 && subject[len(subject)-1] == '\n' && strings.Contains(b.re.String(), "$") {
		return b.find(subject[:len(subject)-1])
	}
	return false
}

// find looks for the leftmost match and checks where it starts.
func (b *BodyRegex) find(subject []byte) bool {
	loc := b.re.FindIndex(subject)
	if loc == nil {
		return false
	}
	if b.MaxOffset >= 0 && b.MinOffset+loc[0] > b.MaxOffset {
		return false // the leftmost match starts too late: all do
	}
	if b.firstLine {
		if nl := bytes.IndexByte(subject, '\n'); nl >= 0 && loc[0] > nl {
			return false
		}
	}
	return true
}

// judge returns why body fails the check, or "".
func (b *BodyRegex) judge(body []byte) string {
	m := b.Matches(body)
	switch {
	case m && b.NoMatch:
		return fmt.Sprintf("body matches regex %q (regex_no_match)", b.re.String())
	case !m && !b.NoMatch:
		return fmt.Sprintf("body does not match regex %q", b.re.String())
	}
	return ""
}

// Equal reports whether b and o check the same thing (both nil counts).
func (b *BodyRegex) Equal(o *BodyRegex) bool {
	if b == nil || o == nil {
		return b == o
	}
	return b.re.String() == o.re.String() && b.NoMatch == o.NoMatch && b.MinOffset == o.MinOffset &&
		b.MaxOffset == o.MaxOffset && b.endOnly == o.endOnly && b.firstLine == o.firstLine
}

// MarshalJSON writes the pattern with its settings (lvsrouter -json).
func (b *BodyRegex) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Pattern              string
		NoMatch              bool `json:",omitempty"`
		MinOffset, MaxOffset int
		EndOnly, FirstLine   bool `json:",omitempty"`
	}{b.re.String(), b.NoMatch, b.MinOffset, b.MaxOffset, b.endOnly, b.firstLine})
}

// rawResponse keeps the bytes of a response as read, up to max.
type rawResponse struct {
	b   []byte
	max int
}

func (w *rawResponse) Write(p []byte) (int, error) {
	if n := w.max - len(w.b); n > 0 {
		w.b = append(w.b, p[:min(n, len(p))]...)
	}
	return len(p), nil
}
