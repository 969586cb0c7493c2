package keepalivedconf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// ParseFile reads a configuration file with the default ParseConfig: see
// ParseConfig.ParseFile.
func ParseFile(filename string) (*File, error) {
	return (*ParseConfig)(nil).ParseFile(filename)
}

// ParseFile reads a configuration file (a regular file of at most
// Limits.MaxFileSize bytes), parses it losslessly (see Parse), follows its
// include statements (glob patterns relative to the including file;
// include, includer, includem, includew, includeb and includea), recording
// the included files in File.Includes, and expands it as keepalived does
// before it reads keywords (see Expand). The returned File is the raw tree
// of filename, for editing; its Config is the configuration keepalived
// reads, includes and all. The error lists what keepalived would reject
// while reading: structural errors of every file, includes that a checking
// variant requires, expansion errors and exceeded Limits. A plain include
// that matches nothing is not an error (keepalived 2.2.7 accepts it): it
// is a lint finding of Config.Lint.
func (c *ParseConfig) ParseFile(filename string) (*File, error) {
	r := c.resolved()
	data, err := r.readFile(filename, r.Limits.MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("keepalivedconf: %w", err)
	}
	return r.parseData(filename, data)
}

// Expand applies what keepalived applies before it reads keywords:
// @id conditionals, $NAME=value definitions and their substitution
// (recursive; undefined names are left as they are; ${_PWD},
// ${_INSTANCE}, ${_HASH}, ${_BANG} and ${_ENV NAME} are predefined),
// ~SEQ/~SEQx/~LST line repetitions and includes, with the ParseConfig the
// file was read with. The result is a new File whose statements carry the
// file:line:col they come from in Pos (columns are those of the expanded
// line). It is for reading (Config, Format shows the expanded text); edit
// the raw files instead. A File from ParseFile returns the expansion made
// when it was read; a File from Parse reads its includes now.
func (f *File) Expand() (*File, error) {
	if f.expanded != nil {
		return f.expanded, f.expanded.syntax.Err()
	}
	r := f.cfg.resolved()
	x := r.expand(f, string(f.Format()))
	return x, x.syntax.Err()
}

// expand expands f, whose source is data. A file without directives is its
// own expansion.
func (r *ParseConfig) expand(f *File, data string) *File {
	ex := newExpander(r)
	if !f.directives {
		return f
	}
	ex.run(f, data)
	return ex.result(f.Name)
}

// unfollowed returns an error for each include statement of a file that
// was not read with ParseFile, whose includes were therefore never read.
func (f *File) unfollowed() ErrorList {
	var l ErrorList
	walk(f.Stmts, func(s *Stmt) {
		if s.Kind == KindStmt && isIncludeLine(s.Text()) {
			l = append(l, Error{Pos: s.Pos, Msg: "include not followed: the file was read with Parse; read it with ParseFile (or call Expand) to read its includes", Err: ErrInclude})
		}
	})
	return l
}

type def struct {
	value     string
	multiline bool
}

type expander struct {
	c       *ParseConfig
	d       diags
	defs    map[string]*def
	out     strings.Builder
	origins []Position
	// pending is the multi-line definition being read.
	pending *def
	depth   int
	lines   int
	steps   int
	// includes counts the files read in total and per including file.
	includes int
	perFile  map[*File]int
	// chain is the files being expanded, outermost first.
	chain []string
	// noIncludes skips include statements (already reported).
	noIncludes bool
	// abort stops the expansion once a bound is exceeded.
	abort bool
	dir   string
	inc   map[*File]map[int][]*File
}

// maxLineLen bounds one line after substitution (keepalived itself
// refuses lines longer than its buffer).
const maxLineLen = 16 << 10

func newExpander(c *ParseConfig) *expander {
	return &expander{c: c.resolved(), defs: map[string]*def{}, inc: map[*File]map[int][]*File{}, perFile: map[*File]int{}}
}

// step counts one unit of expansion work and stops the expansion when
// Limits.MaxSteps is exceeded; it reports whether to go on.
func (ex *expander) step(origin Position) bool {
	if ex.abort {
		return false
	}
	ex.steps++
	if ex.steps > ex.c.Limits.MaxSteps {
		ex.stop(origin, "expansion takes more than %d steps (a ~SEQ/~LST loop or definition chain that does not end?)", ex.c.Limits.MaxSteps)
		return false
	}
	return true
}

// stop reports an exceeded limit and stops the expansion.
func (ex *expander) stop(origin Position, format string, args ...any) {
	if !ex.abort {
		ex.d.errorf(origin, ErrLimit, format, args...)
	}
	ex.abort = true
}

func (ex *expander) run(f *File, data string) {
	ex.file(f, data, 0)
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

// walk calls fn for every statement of the tree, depth first. It keeps
// its own stack, so that no nesting depth can overflow the goroutine's.
func walk(list []*Stmt, fn func(*Stmt)) {
	stack := [][]*Stmt{list}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		if len(top) == 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		s := top[0]
		stack[len(stack)-1] = top[1:]
		fn(s)
		if s.Block != nil && len(s.Block.Stmts) > 0 {
			stack = append(stack, s.Block.Stmts)
		}
	}
}

// file expands the lines of one file.
func (ex *expander) file(f *File, src string, level int) {
	prevDir := ex.dir
	ex.dir = filepath.Dir(f.Name)
	ex.chain = append(ex.chain, filepath.Clean(f.Name))
	defer func() {
		ex.dir = prevDir
		ex.chain = ex.chain[:len(ex.chain)-1]
	}()
	line := 0
	for i := 0; i < len(src) && !ex.abort; {
		line++
		nl := strings.IndexByte(src[i:], '\n')
		end, next := len(src), len(src)
		if nl >= 0 {
			end, next = i+nl, i+nl+1
		}
		raw := strings.TrimRight(src[i:end], "\r")
		i = next
		indent, text, cont := decomment(raw)
		origin := Position{Filename: f.Name, Line: line, Col: len(indent) + 1}
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
func (ex *expander) line(f *File, text string, cont bool, origin Position, indent string, level int, changed bool) {
	if !ex.step(origin) {
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
		match := ex.c.ConfigID != "" && id == ex.c.ConfigID
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
func (ex *expander) emit(text string, origin Position, changed bool) {
	_ = changed
	ex.lines++
	if ex.lines > ex.c.Limits.MaxLines {
		ex.tooLong(origin)
		return
	}
	if int64(ex.out.Len()+len(text)+1) > ex.c.Limits.MaxBytes {
		ex.stop(origin, "expansion produces more than %d bytes", ex.c.Limits.MaxBytes)
		return
	}
	ex.out.WriteString(text)
	ex.out.WriteByte('\n')
	ex.origins = append(ex.origins, origin)
}

// tooLong reports an expansion beyond the line bound and stops it.
func (ex *expander) tooLong(origin Position) {
	ex.stop(origin, "expansion produces more than %d lines", ex.c.Limits.MaxLines)
}

// subst replaces $NAME and ${NAME} references by their definitions,
// rescanning each replacement so that definitions may use others.
func (ex *expander) subst(s string, origin Position) (string, bool) {
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
		if !ex.step(origin) {
			return s, true
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
		return ex.c.ConfigID, e, true
	case "_HASH":
		return `\#`, e, true
	case "_BANG":
		return `\!`, e, true
	case "_ENV":
		if braced && param != "" && ex.c.LookupEnv != nil {
			v, _ := ex.c.LookupEnv(param)
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
func (ex *expander) seq(f *File, text string, origin Position, indent string, level int) {
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
	body1 := func(v string) bool {
		if !ex.step(origin) {
			return false
		}
		ex.defs[name] = &def{value: v}
		ex.line(f, body, strings.HasSuffix(body, "\\"), origin, indent, level, true)
		return !ex.abort
	}
	if lst {
		for _, v := range parts[1:] {
			if !body1(v) {
				return
			}
		}
		return
	}
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
	if n > int64(ex.c.Limits.MaxLines-ex.lines) || n < 0 {
		ex.tooLong(origin)
		return
	}
	// count rather than compare, so that values near the int64 limits
	// cannot wrap around; each iteration is a step, so that loops whose
	// body writes nothing still end
	for i := int64(0); i < n; i++ {
		v := start + i*step
		base := 10
		if hex {
			base = 16
		}
		if !body1(strconv.FormatInt(v, base)) {
			return
		}
	}
}

// include handles include and its checking variants; it reports whether
// text was an include directive.
func (ex *expander) include(f *File, text string, origin Position, level int) bool {
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
	if ex.noIncludes {
		return true
	}
	pattern := unquote(words[1])
	lim := ex.c.Limits
	if level >= lim.MaxIncludeDepth {
		ex.d.errorf(origin, ErrLimit, "includes nested more than %d deep at '%s'", lim.MaxIncludeDepth, pattern)
		return true
	}
	full := pattern
	if !filepath.IsAbs(full) {
		full = filepath.Join(ex.dir, full)
	}
	pats, ok := braceExpand(full, lim.MaxIncludesPerFile)
	if !ok {
		ex.d.errorf(origin, ErrLimit, "include pattern '%s' has more than %d alternatives", pattern, lim.MaxIncludesPerFile)
		return true
	}
	var matches []string
	for _, pat := range pats {
		m, err := ex.c.glob(pat)
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
		sev := sevLint
		if strings.ContainsAny(checks, "mw") {
			sev = sevError
		}
		ex.d.add(origin, sev, ErrInclude, "no config files matched '%s'", pattern)
		return true
	}
	for _, m := range matches {
		if !ex.step(origin) {
			return true
		}
		if st, err := os.Stat(m); err == nil && st.IsDir() {
			continue
		}
		if slices.Contains(ex.chain, filepath.Clean(m)) {
			// keepalived follows the cycle until it runs out of file
			// descriptors (and, included twice, never ends)
			ex.d.errorf(origin, ErrInclude, "include cycle: %s includes itself", m)
			continue
		}
		ex.perFile[f]++
		if ex.perFile[f] > lim.MaxIncludesPerFile {
			ex.stop(origin, "the includes of %s read more than %d files", f.Name, lim.MaxIncludesPerFile)
			return true
		}
		ex.includes++
		if ex.includes > lim.MaxIncludes {
			ex.stop(origin, "includes read more than %d files in total (does a file include itself?)", lim.MaxIncludes)
			return true
		}
		data, err := ex.c.readFile(m, lim.MaxFileSize)
		if err != nil {
			// keepalived 2.2.7 skips a missing or unreadable file, and a
			// FIFO or device ("not a regular non-executable file -
			// skipping", -t exits 0), unless includer asks for it; a
			// file over the size limit is an error
			sev := sevLint
			if strings.Contains(checks, "r") || errors.Is(err, ErrLimit) {
				sev = sevError
			}
			class := ErrInclude
			if errors.Is(err, ErrLimit) {
				class = ErrLimit
			}
			ex.d.add(origin, sev, class, "cannot read included file: %v", err)
			continue
		}
		inc, perr := ex.c.parseSource(m, data)
		if perr != nil {
			ex.d.list = append(ex.d.list, perr.(ErrorList)...)
		}
		if ex.inc[f] == nil {
			ex.inc[f] = map[int][]*File{}
		}
		ex.inc[f][origin.Line] = append(ex.inc[f][origin.Line], inc)
		ex.file(inc, data, level+1)
	}
	return true
}

// braceExpand expands csh-style {a,b} alternatives; it reports false when
// there would be more than max of them.
func braceExpand(s string, max int) ([]string, bool) {
	out := []string{s}
	// expand the first brace of each pattern until none is left; the
	// queue keeps the work iterative and bounded by max
	for done := 0; done < len(out); {
		p := out[done]
		alts, open, close := braceAlts(p)
		if alts == nil {
			done++
			continue
		}
		repl := make([]string, len(alts))
		for i, a := range alts {
			repl[i] = p[:open] + a + p[close+1:]
		}
		if len(out)-1+len(repl) > max {
			return nil, false
		}
		out = append(out[:done], append(repl, out[done+1:]...)...)
	}
	return out, true
}

// braceAlts returns the alternatives of the first {...} group of s and the
// indexes of its braces, or nil when s has no complete group.
func braceAlts(s string) ([]string, int, int) {
	open := strings.IndexByte(s, '{')
	if open < 0 {
		return nil, 0, 0
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
				return append(alts, s[last:i]), open, i
			}
		}
	}
	return nil, 0, 0
}

// result parses the expanded text and moves every position back to its
// origin.
func (ex *expander) result(name string) *File {
	text := ex.out.String()
	p := parse(name, text, ex.c.Limits.MaxNesting)
	fix := func(pos *Position) {
		if pos.Line >= 1 && pos.Line <= len(ex.origins) {
			o := ex.origins[pos.Line-1]
			pos.Filename, pos.Line = o.Filename, o.Line
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
	ex.d.list.Sort()
	ex.d.list = dedup(ex.d.list).capped(ex.c.Limits.MaxErrors)
	return &File{Name: name, Stmts: p.top, size: len(text), syntax: ex.d.list, lints: ex.d.lints, cfg: ex.c}
}
