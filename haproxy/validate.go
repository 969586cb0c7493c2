package haproxy

import (
	"errors"
	"fmt"
	"strings"
)

// Pos is a place in a configuration file. Col is 1-based and counts bytes.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Error is one problem found by Validate, at its place.
type Error struct {
	Pos Pos
	Err error
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ErrorList is every problem Validate found, in file order.
type ErrorList []*Error

func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the errors for errors.Is / errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Classes of problems Validate reports, for errors.Is.
var (
	ErrSyntax          = errors.New("syntax error")
	ErrOutOfSection    = errors.New("keyword out of section")
	ErrUnknownSection  = errors.New("unknown section keyword")
	ErrServerPlacement = errors.New("server outside a backend or listen section")
	ErrBadValue        = errors.New("invalid value")
	ErrDuplicateProxy  = errors.New("duplicate proxy name")
	ErrMissingBackend  = errors.New("missing backend")
	ErrMissingName     = errors.New("missing section name")
	ErrBindOnHeader    = errors.New("listening address on section line")
	ErrConditional     = errors.New("unbalanced conditional block")
	ErrMissingDefaults = errors.New("missing defaults section")
)

type validator struct {
	file string
	errs ErrorList
}

func (v *validator) add(l *Line, col int, class error, format string, args ...any) {
	v.errs = append(v.errs, &Error{
		Pos: Pos{File: v.file, Line: l.Num, Col: col + 1},
		Err: fmt.Errorf("%w: "+format, append([]any{class}, args...)...),
	})
}

func (v *validator) addAt(l *Line, word int, class error, format string, args ...any) {
	col := 0
	if word < len(l.Words) {
		col = l.Words[word].Off
	}
	v.add(l, col, class, format, args...)
}

// Validate reports, with file:line:col, the problems HAProxy would reject
// the configuration for among those it knows: tokenizer errors, keywords
// out of section, misspelt section keywords, servers outside backends,
// invalid times, sizes and server settings, duplicate proxy names,
// backends referenced but not defined, section-line addresses and
// unbalanced .if blocks. It returns nil or an ErrorList. Lines that use
// environment variables are not value-checked, since their values are
// only known after expansion.
func (c *Config) Validate() error {
	v := &validator{file: c.Filename}
	type key struct{ side, name string }
	seen := map[key]*Line{}
	defaults := map[string]bool{}
	backends := map[string]bool{}
	for _, s := range c.Sections {
		if kw := s.Keyword(); kw == "backend" || kw == "listen" {
			backends[s.Name()] = true
		}
	}
	depth := 0
	var ifs []*Line
	checkCond := func(l *Line) {
		switch l.Keyword() {
		case ".if":
			depth++
			ifs = append(ifs, l)
		case ".elif", ".else":
			if depth == 0 {
				v.addAt(l, 0, ErrConditional, "'%s' without '.if'", l.Keyword())
			}
		case ".endif":
			if depth == 0 {
				v.addAt(l, 0, ErrConditional, "'.endif' without '.if'")
			} else {
				depth--
				ifs = ifs[:len(ifs)-1]
			}
		}
	}
	for _, s := range c.Sections {
		kw := s.Keyword()
		if h := s.Header; h != nil {
			v.lineSyntax(h)
			checkCond(h)
			v.header(s)
			side := ""
			switch kw {
			case "frontend":
				side = "fe"
			case "backend":
				side = "be"
			case "listen":
				side = "fe"
			}
			if side != "" && s.Name() != "" {
				// HAProxy 2.6 looks a new proxy up among frontends when it
				// has a frontend side (listen too) and among backends
				// otherwise, so a listen after a backend of the same name
				// passes while the reverse does not.
				if prev, dup := seen[key{side, s.Name()}]; dup {
					v.addAt(h, 1, ErrDuplicateProxy, "%s '%s' has the same name as the proxy declared at line %d", kw, s.Name(), prev.Num)
				}
				seen[key{side, s.Name()}] = h
				if kw == "listen" {
					seen[key{"be", s.Name()}] = h
				}
			}
			if from := fromDefaults(s); from != "" && !defaults[from] {
				v.addAt(h, len(h.Words)-1, ErrMissingDefaults, "defaults section '%s' not found", from)
			}
			if kw == "defaults" && s.Name() != "" && s.Name() != "from" {
				defaults[s.Name()] = true
			}
		}
		for _, l := range s.Lines {
			v.lineSyntax(l)
			switch l.Kind {
			case CondLine:
				checkCond(l)
				continue
			case DirectiveLine:
			default:
				continue
			}
			if l.Err != nil {
				continue
			}
			v.directive(s, l, backends)
		}
	}
	for _, l := range ifs {
		v.addAt(l, 0, ErrConditional, "'.if' is not closed by '.endif'")
	}
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

// maxLineArgs is HAProxy's MAX_LINE_ARGS: more words on a line is fatal.
const maxLineArgs = 64

func (v *validator) lineSyntax(l *Line) {
	if l.Err != nil {
		v.add(l, l.Err.Col, ErrSyntax, "%s", l.Err.Msg)
	}
	if len(l.Words) > maxLineArgs {
		v.addAt(l, maxLineArgs, ErrSyntax, "too many words (more than %d)", maxLineArgs)
	}
}

func (v *validator) header(s *Section) {
	h := s.Header
	kw := s.Keyword()
	switch kw {
	case "frontend", "backend", "listen", "peers", "userlist", "mailers", "resolvers", "cache", "ring", "http-errors", "log-forward", "program", "fcgi-app":
		if s.Name() == "" {
			v.addAt(h, 0, ErrMissingName, "'%s' expects a name", kw)
			return
		}
	}
	switch kw {
	case "frontend", "backend", "listen", "defaults":
		rest := h.Values()[1:]
		if kw != "defaults" || (len(rest) > 0 && rest[0] != "from") {
			if len(rest) > 0 {
				rest = rest[1:]
			}
		}
		if len(rest) == 0 || (rest[0] == "from" && len(rest) == 2) {
			return
		}
		if kw == "frontend" || kw == "listen" {
			v.addAt(h, len(h.Words)-len(rest), ErrBindOnHeader, "please use the 'bind' keyword for listening addresses")
			return
		}
		v.addAt(h, len(h.Words)-len(rest), ErrBadValue, "unexpected '%s' on '%s' line", rest[0], kw)
	}
}

// sectionLike reports whether kw, written at the start of a line, looks
// like a misspelt section keyword.
func sectionLike(kw string) bool {
	switch kw {
	case "peer", "mailer", "user", "group", "bind", "server", "log", "mode", "ring":
		return false
	}
	for s := range sectionKeywords {
		max := 2
		if len(s) <= 5 {
			max = 1
		}
		if editDistance(kw, s, max) <= max {
			return true
		}
	}
	return false
}

// editDistance returns the Levenshtein distance of a and b, or max+1 when
// it exceeds max.
func editDistance(a, b string, max int) int {
	if d := len(a) - len(b); d > max || -d > max {
		return max + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (v *validator) directive(s *Section, l *Line, backends map[string]bool) {
	kw := l.Keyword()
	sec := s.Keyword()
	if s.Header == nil {
		v.addAt(l, 0, ErrOutOfSection, "unknown keyword '%s' out of section", kw)
		return
	}
	if l.Indent() == "" && sectionLike(kw) {
		v.addAt(l, 0, ErrUnknownSection, "unknown section keyword '%s'", kw)
		return
	}
	if strings.Contains(l.Text[:l.end], "$") {
		return
	}
	proxy := sec == "frontend" || sec == "backend" || sec == "listen" || sec == "defaults"
	switch kw {
	case "server":
		switch sec {
		case "global", "defaults", "frontend":
			v.addAt(l, 0, ErrServerPlacement, "'server' not allowed in '%s' section", sec)
			return
		}
		if sec == "backend" || sec == "listen" {
			srv, err := ParseServer(l)
			if err != nil {
				v.addAt(l, 0, ErrBadValue, "%v", err)
			} else if srv.Check == On && srv.Track != "" {
				v.addAt(l, 0, ErrBadValue, "server %s: unable to enable checks and tracking at the same time", srv.Name)
			}
		}
	case "timeout":
		if proxy && len(l.Words) >= 3 {
			if _, err := ParseDuration(l.Arg(2)); err != nil && !errors.Is(err, ErrTrailingUnit) {
				v.addAt(l, 2, ErrBadValue, "timeout %s: %v", l.Arg(1), err)
			}
		}
	case "default_backend":
		if proxy && sec != "backend" && len(l.Words) >= 2 {
			if name := l.Arg(1); !backends[name] && !strings.Contains(name, "%") {
				v.addAt(l, 1, ErrMissingBackend, "default_backend '%s' is not defined", name)
			}
		}
	case "use_backend":
		if proxy && len(l.Words) >= 2 {
			if name := l.Arg(1); !backends[name] && !strings.Contains(name, "%") {
				v.addAt(l, 1, ErrMissingBackend, "use_backend '%s' is not defined", name)
			}
		}
	case "balance":
		if sec == "backend" || sec == "listen" || sec == "defaults" {
			if _, err := ParseBalance(l.Values()[1:]); err != nil {
				v.addAt(l, 1, ErrBadValue, "%v", err)
			}
		}
	case "hash-type":
		if sec == "backend" || sec == "listen" || sec == "defaults" {
			if _, _, err := (&Proxy{&Section{Lines: []*Line{l}}}).HashType(); err != nil {
				v.addAt(l, 1, ErrBadValue, "%v", err)
			}
		}
	}
}

// fromDefaults returns the name after "from" on a proxy or defaults line.
func fromDefaults(s *Section) string {
	v := s.Header.Values()
	for i := 1; i+1 < len(v); i++ {
		if v[i] == "from" && i+2 == len(v) {
			return v[i+1]
		}
	}
	return ""
}
