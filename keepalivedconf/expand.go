package keepalivedconf

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Option configures ParseFile and Expand.
type Option func(*options)

type options struct {
	configID string
	hasID    bool
	env      func(string) (string, bool)
	readFile func(string) ([]byte, error)
	glob     func(string) ([]string, error)
	maxLines int
}

// WithConfigID sets the config id that "@id" and "@^id" line prefixes are
// matched against (keepalived's -i option; keepalived defaults it to the
// host name, we default to no id: "@id" lines are skipped, "@^id" kept).
// It is also the value of ${_INSTANCE}.
func WithConfigID(id string) Option {
	return func(o *options) { o.configID, o.hasID = id, true }
}

// WithEnv sets how ${_ENV NAME} is looked up. The default reads nothing,
// so that expansion is deterministic; pass os.LookupEnv for keepalived's
// behaviour.
func WithEnv(lookup func(name string) (string, bool)) Option {
	return func(o *options) { o.env = lookup }
}

// ParseFile reads a configuration file, parses it losslessly (see Parse)
// and follows its include statements (glob patterns relative to the
// including file; include, includer, includem, includew, includeb and
// includea), recording the included files in File.Includes. The returned
// File is the raw tree of path; call Expand on it for the configuration
// keepalived actually reads.
func ParseFile(path string, opts ...Option) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keepalivedconf: %w", err)
	}
	f, perr := Parse(path, data)
	ex := newExpander(opts)
	ex.run(f, data)
	var list ErrorList
	if perr != nil {
		list = append(list, perr.(ErrorList)...)
	}
	for _, d := range ex.d.list {
		if d.Err == ErrInclude {
			list = append(list, d)
		}
	}
	return f, list.Err()
}

// Expand applies what keepalived applies before it reads keywords:
// @id conditionals, $NAME=value definitions and their substitution
// (recursive; undefined names are left as they are; ${_PWD},
// ${_INSTANCE}, ${_HASH}, ${_BANG} and ${_ENV NAME} are predefined),
// ~SEQ/~SEQx/~LST line repetitions and includes. The result is a new File
// whose statements carry the file:line:col they come from in Pos (columns
// are those of the expanded line). It is for reading (Config, Format shows
// the expanded text); edit the raw files instead.
func (f *File) Expand(opts ...Option) (*File, error) {
	ex := newExpander(opts)
	ex.run(f, []byte(f.Format()))
	out := ex.result(f.Name)
	return out, ex.d.list.Err()
}

type def struct {
	value     string
	multiline bool
}

type expander struct {
	o       options
	d       diags
	defs    map[string]*def
	out     strings.Builder
	origins []Pos
	// pending is the multi-line definition being read.
	pending *def
	depth   int
	lines   int
	// abort stops the expansion once a bound is exceeded.
	abort bool
	dir   string
	inc   map[*File]map[int][]*File
}

// maxLines bounds the expanded output by default, against ~SEQ and
// definition bombs; maxLineLen bounds one line after substitution (keepalived
// itself refuses lines longer than its buffer).
const (
	maxLines   = 4 << 20
	maxLineLen = 16 << 10
)

func newExpander(opts []Option) *expander {
	ex := &expander{defs: map[string]*def{}, inc: map[*File]map[int][]*File{}}
	ex.o.readFile = os.ReadFile
	ex.o.glob = filepath.Glob
	ex.o.maxLines = maxLines
	for _, o := range opts {
		o(&ex.o)
	}
	return ex
}

func (ex *expander) run(f *File, data []byte) {
	ex.file(f, string(data), 0)
	for raw, m := range ex.inc {
		if raw.Includes == nil {
			raw.Includes = map[*Stmt][]*File{}
		}
		walk(raw.Stmts, func(s *Stmt) {
			if fs, ok := m[s.Pos.Line]; ok && strings.HasPrefix(s.Keyword(), "include") {
				raw.Includes[s] = fs
			}
		})
	}
}

// walk calls fn for every statement of the tree, depth first.
func walk(list []*Stmt, fn func(*Stmt)) {
	for _, s := range list {
		fn(s)
		if s.Block != nil {
			walk(s.Block.Stmts, fn)
		}
	}
}

// file expands the lines of one file.
func (ex *expander) file(f *File, src string, level int) {
	prevDir := ex.dir
	ex.dir = filepath.Dir(f.Name)
	defer func() { ex.dir = prevDir }()
	line := 0
	for i := 0; i < len(src); {
		line++
		nl := strings.IndexByte(src[i:], '\n')
		end, next := len(src), len(src)
		if nl >= 0 {
			end, next = i+nl, i+nl+1
		}
		raw := strings.TrimRight(src[i:end], "\r")
		i = next
		indent, text, cont := decomment(raw)
		origin := Pos{File: f.Name, Line: line, Col: len(indent) + 1}
		if ex.pending != nil {
			d := ex.pending
			if text == "" {
				ex.pending = nil
				continue
			}
			if cont {
				text = strings.TrimRight(text[:len(text)-1], " \t")
			} else {
				ex.pending = nil
			}
			if text != "" {
				if d.value != "" {
					d.value += "\n"
				}
				d.value += text
			}
			continue
		}
		if text == "" {
			continue
		}
		ex.line(f, text, cont, origin, indent, level, false)
	}
	ex.pending = nil
}

// decomment splits a physical line into its indentation and its content
// without comment and trailing blanks, keeping \# and \! escapes, and
// reports a trailing continuation backslash.
func decomment(line string) (indent, text string, cont bool) {
	j := 0
	for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
		j++
	}
	indent = line[:j]
	quote := false
	end := len(line)
	for k := j; k < len(line); k++ {
		switch line[k] {
		case '"':
			quote = !quote
		case '\\':
			k++
		case '#', '!':
			if !quote {
				end = k
				k = len(line)
			}
		}
	}
	text = strings.TrimRight(line[j:end], " \t\r\f\v")
	n := 0
	for k := len(text) - 1; k >= 0 && text[k] == '\\'; k-- {
		n++
	}
	return indent, text, n%2 == 1
}

// line processes one logical line the way keepalived's read_line does.
func (ex *expander) line(f *File, text string, cont bool, origin Pos, indent string, level int, changed bool) {
	if ex.abort {
		return
	}
	ex.depth++
	defer func() { ex.depth-- }()
	if ex.depth > 64 {
		ex.d.errorf(origin, ErrSyntax, "expansion nested too deeply (recursive definition?)")
		return
	}
	if text == "" {
		return
	}
	if text[0] == '@' {
		sp := strings.IndexAny(text, " \t")
		if sp < 0 {
			return
		}
		id, rev := text[1:sp], false
		if strings.HasPrefix(id, "^") {
			id, rev = id[1:], true
		}
		match := ex.o.hasID && id == ex.o.configID
		if match == rev {
			return
		}
		rest := strings.TrimLeft(text[sp:], " \t")
		if rest == "" {
			return
		}
		// pad so that columns stay those of the source line
		indent += strings.Repeat(" ", len(text)-len(rest))
		text = rest
	}
	if text[0] == '$' && isDefStart(text) {
		eq := strings.IndexByte(text, '=')
		name := text[1:eq]
		val := strings.TrimLeft(text[eq+1:], " \t")
		d := &def{}
		if cont {
			val = strings.TrimRight(val[:len(val)-1], " \t")
			d.multiline = true
			ex.pending = d
		}
		d.value = val
		ex.defs[name] = d
		return
	}
	if strings.HasPrefix(text, "~SEQ") || strings.HasPrefix(text, "~LST") {
		ex.seq(f, text, origin, indent, level)
		return
	}
	if text[0] != '~' && strings.IndexByte(text, '$') >= 0 {
		if nt, ok := ex.subst(text, origin); ok {
			for _, l := range strings.Split(nt, "\n") {
				l = strings.TrimLeft(l, " \t")
				c := strings.HasSuffix(l, "\\")
				ex.line(f, l, c, origin, indent, level, true)
			}
			return
		}
	}
	if strings.HasPrefix(text, "include") && ex.include(f, text, origin, level) {
		return
	}
	ex.emit(indent+text, origin, changed)
}

// emit writes one expanded line. Lines that went through substitution
// (changed) keep their origin line; their columns are those of the
// expanded text.
func (ex *expander) emit(text string, origin Pos, changed bool) {
	_ = changed
	ex.lines++
	if ex.lines > ex.o.maxLines {
		ex.tooLong(origin)
		return
	}
	ex.out.WriteString(text)
	ex.out.WriteByte('\n')
	ex.origins = append(ex.origins, origin)
}

// tooLong reports an expansion beyond the line bound and stops it.
func (ex *expander) tooLong(origin Pos) {
	if !ex.abort {
		ex.d.errorf(origin, ErrSyntax, "expansion produces more than %d lines", ex.o.maxLines)
	}
	ex.abort = true
}

// subst replaces $NAME and ${NAME} references by their definitions,
// rescanning each replacement so that definitions may use others.
func (ex *expander) subst(s string, origin Pos) (string, bool) {
	changed := false
	n := 0
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '$')
		if j < 0 {
			break
		}
		j += i
		val, end, ok := ex.ref(s, j)
		if !ok {
			i = j + 1
			continue
		}
		s = s[:j] + val + s[end:]
		changed = true
		n++
		if n > 1000 || len(s) > maxLineLen {
			ex.d.errorf(origin, ErrSyntax, "definition expansion does not terminate")
			return s, true
		}
		if t := strings.TrimLeft(val, " \t"); strings.HasPrefix(t, "~") {
			break
		}
		i = j
	}
	return s, changed
}

// ref resolves the reference starting with '$' at s[j]; it returns the
// replacement and the end of the reference.
func (ex *expander) ref(s string, j int) (string, int, bool) {
	k := j + 1
	braced := k < len(s) && s[k] == '{'
	if braced {
		k++
	}
	if k >= len(s) || !(isAlpha(s[k]) || s[k] == '_') {
		return "", 0, false
	}
	e := k + 1
	for e < len(s) && (isAlnum(s[e]) || s[e] == '_') {
		e++
	}
	name := s[k:e]
	param := ""
	if braced {
		close := strings.IndexByte(s[e:], '}')
		if close < 0 {
			return "", 0, false
		}
		param = strings.TrimSpace(s[e : e+close])
		if param != "" && s[e] != ' ' {
			return "", 0, false
		}
		e += close + 1
	} else if e < len(s) && s[e] != ' ' && s[e] != '\t' && s[e] != ',' && s[e] != ')' {
		return "", 0, false
	}
	if d, ok := ex.defs[name]; ok && param == "" {
		return d.value, e, true
	}
	switch name {
	case "_PWD":
		if abs, err := filepath.Abs(ex.dir); err == nil {
			return abs, e, true
		}
	case "_INSTANCE":
		return ex.o.configID, e, true
	case "_HASH":
		return `\#`, e, true
	case "_BANG":
		return `\!`, e, true
	case "_ENV":
		if braced && param != "" && ex.o.env != nil {
			v, _ := ex.o.env(param)
			return v, e, true
		}
		if braced && param != "" {
			return "", e, true
		}
	}
	return "", 0, false
}

// seq expands ~SEQ(var, [start,] [step,] end) TEXT, ~SEQx (hexadecimal
// values) and ~LST(var, v1, v2...) TEXT.
func (ex *expander) seq(f *File, text string, origin Pos, indent string, level int) {
	lst := strings.HasPrefix(text, "~LST")
	p := text[4:]
	hex := false
	if !lst && strings.HasPrefix(p, "x") {
		hex, p = true, p[1:]
	}
	p = strings.TrimLeft(p, " \t")
	closeAt := strings.IndexByte(p, ')')
	if !strings.HasPrefix(p, "(") || closeAt < 0 {
		ex.d.errorf(origin, ErrSyntax, "invalid %s specification '%s'", text[:4], text)
		return
	}
	inner := p[1:closeAt]
	body := strings.TrimLeft(p[closeAt+1:], " \t")
	if nt, ok := ex.subst(inner, origin); ok {
		inner = nt
	}
	parts := strings.Split(inner, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	name := parts[0]
	if name == "" || len(parts) < 2 {
		ex.d.errorf(origin, ErrSyntax, "invalid %s definition '%s'", text[:4], text)
		return
	}
	var values []string
	if lst {
		values = parts[1:]
	} else {
		nums := make([]int64, 0, 3)
		for _, s := range parts[1:] {
			v, err := strconv.ParseInt(s, 0, 64)
			if err != nil || len(nums) == 3 {
				ex.d.errorf(origin, ErrSyntax, "invalid ~SEQ definition '%s'", text)
				return
			}
			nums = append(nums, v)
		}
		var start, step, end int64
		switch len(nums) {
		case 1:
			end = nums[0]
			step, start = 1, 1
			if end < 1 {
				step = -1
			}
			if end < 0 {
				start = -1
			}
		case 2:
			start, end, step = nums[0], nums[1], 1
			if start > end {
				step = -1
			}
		case 3:
			start, step, end = nums[0], nums[1], nums[2]
			if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
				ex.d.errorf(origin, ErrSyntax, "invalid ~SEQ values '%s'", text)
				return
			}
		}
		if hex && (start < 0 || end < 0) {
			ex.d.errorf(origin, ErrSyntax, "~SEQx is only valid for positive numbers '%s'", text)
			return
		}
		n := (end-start)/step + 1
		if n > int64(ex.o.maxLines-ex.lines) || n < 0 {
			ex.tooLong(origin)
			return
		}
		// count rather than compare, so that values near the int64
		// limits cannot wrap around
		for i := int64(0); i < n; i++ {
			v := start + i*step
			if hex {
				values = append(values, strconv.FormatInt(v, 16))
			} else {
				values = append(values, strconv.FormatInt(v, 10))
			}
		}
	}
	for _, v := range values {
		if ex.abort {
			return
		}
		ex.defs[name] = &def{value: v}
		ex.line(f, body, strings.HasSuffix(body, "\\"), origin, indent, level, true)
	}
}

// include handles include and its checking variants; it reports whether
// text was an include directive.
func (ex *expander) include(f *File, text string, origin Pos, level int) bool {
	words := strings.Fields(text)
	if len(words) != 2 {
		return false
	}
	kw := words[0]
	checks := ""
	switch kw {
	case "include":
	case "includer", "includem", "includew", "includeb":
		checks = kw[7:]
	case "includea":
		checks = "rmwb"
	default:
		return false
	}
	pattern := unquote(words[1])
	if level >= 32 {
		ex.d.errorf(origin, ErrInclude, "includes nested too deeply at '%s'", pattern)
		return true
	}
	full := pattern
	if !filepath.IsAbs(full) {
		full = filepath.Join(ex.dir, full)
	}
	var matches []string
	for _, pat := range braceExpand(full) {
		m, err := ex.o.glob(pat)
		if err != nil {
			ex.d.errorf(origin, ErrInclude, "bad include pattern '%s': %v", pattern, err)
			return true
		}
		if len(m) == 0 && strings.ContainsAny(checks, "bw") && pat != full {
			ex.d.errorf(origin, ErrInclude, "include %s: '%s' matches no file", pattern, pat)
		}
		matches = append(matches, m...)
	}
	sort.Strings(matches)
	if len(matches) == 0 {
		sev := SeverityLint
		if strings.ContainsAny(checks, "mw") {
			sev = SeverityError
		}
		ex.d.add(origin, sev, ErrInclude, "no config files matched '%s'", pattern)
		return true
	}
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && st.IsDir() {
			continue
		}
		data, err := ex.o.readFile(m)
		if err != nil {
			sev := SeverityLint
			if strings.Contains(checks, "r") {
				sev = SeverityError
			}
			ex.d.add(origin, sev, ErrInclude, "cannot read included file: %v", err)
			continue
		}
		inc, perr := Parse(m, data)
		if perr != nil {
			ex.d.list = append(ex.d.list, perr.(ErrorList)...)
		}
		if ex.inc[f] == nil {
			ex.inc[f] = map[int][]*File{}
		}
		ex.inc[f][origin.Line] = append(ex.inc[f][origin.Line], inc)
		ex.file(inc, string(data), level+1)
	}
	return true
}

// braceExpand expands csh-style {a,b} alternatives.
func braceExpand(s string) []string {
	open := strings.IndexByte(s, '{')
	if open < 0 {
		return []string{s}
	}
	depth := 0
	var alts []string
	last := open + 1
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case ',':
			if depth == 1 {
				alts = append(alts, s[last:i])
				last = i + 1
			}
		case '}':
			depth--
			if depth == 0 {
				alts = append(alts, s[last:i])
				var out []string
				for _, a := range alts {
					out = append(out, braceExpand(s[:open]+a+s[i+1:])...)
				}
				return out
			}
		}
	}
	return []string{s}
}

// result parses the expanded text and moves every position back to its
// origin.
func (ex *expander) result(name string) *File {
	text := ex.out.String()
	p := parse(name, text)
	fix := func(pos *Pos) {
		if pos.Line >= 1 && pos.Line <= len(ex.origins) {
			o := ex.origins[pos.Line-1]
			pos.File, pos.Line = o.File, o.Line
		}
	}
	walk(p.top, func(s *Stmt) {
		fix(&s.Pos)
		if s.Block != nil {
			fix(&s.Block.Open)
			fix(&s.Block.Close)
		}
	})
	for i := range p.d.list {
		fix(&p.d.list[i].Pos)
	}
	ex.d.list = append(ex.d.list, p.d.list...)
	return &File{Name: name, Stmts: p.top, size: len(text), syntax: p.d.list}
}
