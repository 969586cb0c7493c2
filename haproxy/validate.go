package haproxy

import (
	"errors"
	"fmt"
	"strings"
)

type validator struct {
	file  string
	errs  ErrorList
	warns ErrorList
	// moreErrs and moreWarns count the findings past maxFindings.
	moreErrs, moreWarns int
	// servers maps backend name to its servers, for track checks.
	servers map[string]map[string]Server
	// defaultServer is true when any default-server line exists, which
	// may enable checks on servers that do not say so themselves.
	defaultServer bool
	// env expands variables before values are checked; nil skips the
	// value checks of lines that use variables.
	env Env
	// acls holds, per section, the ACL names declared so far.
	acls map[*Section]map[string]bool
	// cond holds the lines inside .if blocks. Which branch HAProxy takes
	// depends on its environment, so two such declarations of one name
	// may never meet: duplicates involving them are not reported.
	cond map[*Line]bool
}

// mayExpand reports whether a word of l references a variable inside
// double quotes, the only place HAProxy expands them.
func mayExpand(l *Line) bool {
	for _, w := range l.Words {
		if strings.Contains(w.Raw, "\"") && strings.Contains(w.Raw, "$") {
			return true
		}
	}
	return false
}

// args returns the words of l in section s as HAProxy would see them, and
// false when they depend on variables that are not being expanded.
func (v *validator) args(s *Section, l *Line) ([]string, bool) {
	if v.env == nil {
		if mayExpand(l) {
			return nil, false
		}
		return l.Values(), true
	}
	name := s.Name()
	if name == "" {
		name = s.Keyword()
	}
	a, err := l.Args(v.env, v.file, name)
	if err != nil || len(a) == 0 {
		return nil, false
	}
	return a, true
}

// maxFindings caps the errors and the warnings one validation returns:
// past it, one ErrTooManyErrors finding says how many more there were,
// so that a hostile file cannot make the report grow with its size.
const maxFindings = 100

// maxMsg caps the length of one message.
const maxMsg = 512

func (v *validator) add(l *Line, col int, class error, format string, args ...any) {
	v.errs = v.appendFinding(v.errs, &v.moreErrs, l, col, class, format, args...)
}

// warn records a warning: something HAProxy may reject that the package
// does not know well enough to call an error.
func (v *validator) warn(l *Line, col int, class error, format string, args ...any) {
	v.warns = v.appendFinding(v.warns, &v.moreWarns, l, col, class, format, args...)
}

func (v *validator) appendFinding(list ErrorList, more *int, l *Line, col int, class error, format string, args ...any) ErrorList {
	if len(list) >= maxFindings {
		*more++
		return list
	}
	return append(list, Error{
		Pos: Position{Filename: v.file, Line: l.Num, Col: col + 1},
		Msg: sanitize(msgOf(class)+": "+fmt.Sprintf(format, args...), maxMsg),
		Err: class,
	})
}

// finish appends the "too many" finding to a capped list.
func (v *validator) finish(list ErrorList, more int) ErrorList {
	if more == 0 {
		return list
	}
	last := list[len(list)-1].Pos
	return append(list, Error{Pos: last, Msg: fmt.Sprintf("%s: %d more not shown", msgOf(ErrTooManyErrors), more), Err: ErrTooManyErrors})
}

func (v *validator) addAt(l *Line, word int, class error, format string, args ...any) {
	col := 0
	if word < len(l.Words) {
		col = l.Words[word].Off
	}
	v.add(l, col, class, format, args...)
}

// ValidateEnv is Validate with variables expanded from env first, so that
// lines using "${...}" are checked too.
func (c *Config) ValidateEnv(env Env) error {
	_, err := c.Check(env)
	return err
}

// Validate reports, with file:line:col, the problems HAProxy would reject
// the configuration for among those it knows: tokenizer errors, NUL
// bytes, keywords out of section, misspelt section keywords, servers
// outside backends, invalid times, sizes and server settings, invalid
// characters in proxy and server names, duplicate proxy names, backends
// referenced but not defined, section-line addresses and unbalanced .if
// blocks. It returns nil or an ErrorList. Lines that use environment
// variables are not value-checked, since their values are only known
// after expansion. Validate leaves out warnings; Check returns them.
func (c *Config) Validate() error {
	_, err := c.Check(nil)
	return err
}

// Check is Validate that also returns warnings, apart from the error:
// keywords HAProxy 2.6 does not know in the global section or a proxy
// section (HAProxy rejects them, but a newer or patched HAProxy may know
// them, so they are not errors here). env expands variables as in
// ValidateEnv; nil leaves lines with variables unchecked. Both lists are
// capped at 100 findings, the last one then saying how many more there
// were.
func (c *Config) Check(env Env) (warnings ErrorList, err error) {
	return c.validate(env)
}

func (c *Config) validate(env Env) (ErrorList, error) {
	v := &validator{file: c.Filename, servers: map[string]map[string]Server{}, env: env, cond: map[*Line]bool{}, acls: map[*Section]map[string]bool{}}
	type key struct{ side, name string }
	seen := map[key]*Line{}
	defaults := map[string]bool{}
	backends := map[string]bool{}
	for _, s := range c.Sections {
		kw := s.Keyword()
		if kw == "backend" || kw == "listen" {
			backends[s.Name()] = true
			if v.servers[s.Name()] == nil {
				v.servers[s.Name()] = map[string]Server{}
			}
			for _, l := range s.FindAll("server") {
				a, ok := v.args(s, l)
				if !ok {
					continue
				}
				if srv, _, err := parseServerWords(a[1:], 1); err == nil {
					if _, dup := v.servers[s.Name()][srv.Name]; !dup {
						v.servers[s.Name()][srv.Name] = srv
					}
				}
			}
		}
		if s.Find("default-server") != nil {
			v.defaultServer = true
		}
	}
	seenServers := map[*Section]map[string]*Line{}
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
			if depth > 0 {
				v.cond[h] = true
			}
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
				if prev, dup := seen[key{side, s.Name()}]; dup && !v.cond[prev] && !v.cond[h] {
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
			if depth > 0 {
				v.cond[l] = true
			}
			v.directive(s, l, backends, seenServers)
		}
	}
	for _, l := range ifs {
		v.addAt(l, 0, ErrConditional, "'.if' is not closed by '.endif'")
	}
	var last *Line
	c.walk(func(l *Line) { last = l })
	if last != nil && last.EOL == "" && last.Text != "" {
		v.add(last, len(last.Text), ErrMissingLF, "file might have been truncated")
	}
	warns := v.finish(v.warns, v.moreWarns)
	if len(v.errs) == 0 {
		return warns, nil
	}
	return warns, v.finish(v.errs, v.moreErrs)
}

// maxLineArgs is HAProxy's MAX_LINE_ARGS: more words on a line is fatal.
const maxLineArgs = 64

func (v *validator) lineSyntax(l *Line) {
	if i := strings.IndexByte(l.Text, 0); i >= 0 {
		// HAProxy refuses a NUL anywhere on a line, comments included.
		v.add(l, i, ErrSyntax, "stray NUL character at position %d", i+1)
	}
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
	case "frontend", "backend", "listen", "peers", "userlist", "mailers", "resolvers", "ring", "http-errors", "log-forward", "fcgi-app":
		v.name(h, 1, "'"+kw+"' name")
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

// name reports a character HAProxy does not permit in the name that is
// word i of l: only letters, digits, '.', '-', '_' and ':' are.
func (v *validator) name(l *Line, i int, what string) {
	if i >= len(l.Words) || mayExpand(l) {
		return
	}
	w := l.Words[i]
	name := w.Value()
	for j := 0; j < len(name); j++ {
		if c := name[j]; isAlpha(c) || isDigit(c) || c == '.' || c == '-' || c == '_' || c == ':' {
			continue
		}
		col := w.Off
		if w.Raw == name {
			col += j
		}
		char := string(rune(name[j]))
		if name[j] >= 0x80 || name[j] < 0x20 || name[j] == 0x7f {
			char = fmt.Sprintf("\\x%02x", name[j])
		}
		v.add(l, col, ErrBadName, "character '%s' is not permitted in %s '%s'", char, what, name)
		return
	}
}

// track checks a server's track target as HAProxy does after parsing:
// the proxy and server must exist and the target must run checks.
func (v *validator) track(s *Section, l *Line, srv Server) {
	if srv.Track == "" {
		return
	}
	be, name, ok := strings.Cut(srv.Track, "/")
	if !ok {
		be, name = s.Name(), srv.Track
	}
	col := 0
	for i, w := range l.Words {
		if w.Value() == "track" && i+1 < len(l.Words) {
			col = i + 1
		}
	}
	servers, ok := v.servers[be]
	if !ok {
		v.addAt(l, col, ErrTrack, "server %s: unable to find required proxy '%s' for tracking", srv.Name, be)
		return
	}
	target, ok := servers[name]
	if !ok {
		v.addAt(l, col, ErrTrack, "server %s: unable to find required server '%s' for tracking", srv.Name, name)
		return
	}
	if target.Check != On && target.AgentCheck != On && target.Track == "" && !v.defaultServer {
		v.addAt(l, col, ErrTrack, "server %s: unable to use %s/%s for tracking as it does not have any check nor agent enabled", srv.Name, be, name)
	}
}

func (v *validator) directive(s *Section, l *Line, backends map[string]bool, seenServers map[*Section]map[string]*Line) {
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
	if kw != "" && !isAlpha(kw[0]) && kw[0] != '.' && !mayExpand(l) {
		v.addAt(l, 0, ErrUnknownKeyword, "unknown keyword '%s' in '%s' section (keywords start with a letter)", kw, sec)
		return
	}
	if !mayExpand(l) {
		if near := nearKeyword(kw, sec); near != "" {
			v.addAt(l, 0, ErrUnknownKeyword, "unknown keyword '%s' in '%s' section; did you mean '%s'?", kw, sec, near)
			return
		}
	}
	if kw == "server" {
		switch sec {
		case "global", "defaults", "frontend":
			v.addAt(l, 0, ErrServerPlacement, "'server' not allowed in '%s' section", sec)
			return
		}
	}
	if kw == "bind" && (sec == "defaults" || sec == "global") {
		v.addAt(l, 0, ErrPlacement, "'bind' not allowed in '%s' section", sec)
		return
	}
	if sec == "global" && proxyOnly[kw] {
		v.addAt(l, 0, ErrPlacement, "unknown keyword '%s' in 'global' section (it belongs in a proxy)", kw)
		return
	}
	if isProxy(sec) && (globalOnly[kw] || strings.HasPrefix(kw, "tune.") || strings.HasPrefix(kw, "ssl-default-")) {
		v.addAt(l, 0, ErrPlacement, "unknown keyword '%s' in '%s' section (it belongs in global)", kw, sec)
		return
	}
	if raw := l.Words[0].Raw; !(strings.Contains(raw, "\"") && strings.Contains(raw, "$")) && !knownKeyword(kw, sec) {
		v.warn(l, l.Words[0].Off, ErrUnknownKeyword, "unknown keyword '%s' in '%s' section (HAProxy 2.6 does not know it)", kw, sec)
	}
	if kw == "acl" && len(l.Words) >= 2 {
		// Registered even when it uses variables, so that it is never
		// reported missing.
		if v.acls[s] == nil {
			v.acls[s] = map[string]bool{}
		}
		v.acls[s][l.Arg(1)] = true
		if a, ok := v.args(s, l); ok && len(a) >= 2 {
			v.acls[s][a[1]] = true
		}
	}
	args, ok := v.args(s, l)
	if !ok {
		return
	}
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	proxy := isProxy(sec)
	switch kw {
	case "server":
		if sec == "backend" || sec == "listen" {
			srv, _, err := parseServerWords(args[1:], 1)
			if err != nil {
				v.addAt(l, 0, ErrBadValue, "%v", err)
				return
			}
			v.name(l, 1, "server name")
			if srv.Check == On && srv.Track != "" {
				v.addAt(l, 0, ErrBadValue, "server %s: unable to enable checks and tracking at the same time", srv.Name)
			}
			if seenServers[s] == nil {
				seenServers[s] = map[string]*Line{}
			}
			if prev, dup := seenServers[s][srv.Name]; dup && !v.cond[prev] && !v.cond[l] {
				v.addAt(l, 1, ErrDuplicateServer, "backend '%s', another server named '%s' was already defined at line %d", s.Name(), srv.Name, prev.Num)
			} else if !dup {
				seenServers[s][srv.Name] = l
			}
			v.track(s, l, srv)
		}
	case "bind":
		if sec == "frontend" || sec == "listen" {
			if err := checkBindAddress(arg(1)); err != nil {
				v.addAt(l, 1, ErrBadValue, "bind: %v", err)
			}
		}
	case "log":
		if sec == "global" || proxy {
			if err := checkLog(args[1:]); err != nil {
				v.addAt(l, 1, ErrBadValue, "log: %v", err)
			}
		}
	case "mode":
		if proxy && arg(1) != "http" && arg(1) != "tcp" {
			v.addAt(l, 1, ErrBadValue, "unknown proxy mode '%s'", arg(1))
		}
	case "timeout":
		if proxy && len(args) >= 2 && !proxyTimeouts[arg(1)] {
			v.addAt(l, 1, ErrBadValue, "unknown timeout '%s'", arg(1))
			return
		}
		if proxy && len(args) == 2 {
			v.addAt(l, 1, ErrBadValue, "'timeout %s' expects an integer value (in milliseconds)", arg(1))
		}
		if proxy && len(args) >= 3 {
			if _, err := ParseDuration(arg(2)); err != nil && !errors.Is(err, ErrTrailingUnit) {
				v.addAt(l, 2, ErrBadValue, "timeout %s: %v", arg(1), err)
			}
		}
	case "default_backend":
		if proxy && sec != "backend" && len(args) >= 2 {
			if name := arg(1); !backends[name] && !strings.Contains(name, "%") {
				v.addAt(l, 1, ErrMissingBackend, "default_backend '%s' is not defined", name)
			}
		}
	case "use_backend":
		if proxy && len(args) >= 2 {
			if name := arg(1); !backends[name] && !strings.Contains(name, "%") {
				v.addAt(l, 1, ErrMissingBackend, "use_backend '%s' is not defined", name)
			}
			if sec != "backend" {
				for _, name := range aclNames(args[2:]) {
					if !v.acls[s][name] {
						v.addAt(l, 2, ErrMissingACL, "no such ACL '%s' (ACLs are declared before use, in the same proxy)", name)
					}
				}
			}
		}
	case "balance":
		if sec == "backend" || sec == "listen" || sec == "defaults" {
			if b, err := ParseBalance(args[1:]); err != nil {
				v.addAt(l, 1, ErrBadValue, "%v", err)
			} else if err := checkURIOptions(b); err != nil {
				v.addAt(l, 2, ErrBadValue, "%v", err)
			}
		}
	case "hash-type":
		if sec == "backend" || sec == "listen" || sec == "defaults" {
			if _, err := parseHashType(args[1:]); err != nil {
				v.addAt(l, 1, ErrBadValue, "%v", err)
			}
		}
	}
}

func isProxy(sec string) bool {
	return sec == "frontend" || sec == "backend" || sec == "listen" || sec == "defaults"
}

// aclNames returns the named ACLs a condition ("if a !b || { ... }")
// uses, leaving out anonymous ones and those that may be predefined (all
// capitals: TRUE, HTTP_1.1, METH_GET...).
func aclNames(cond []string) []string {
	if len(cond) == 0 || (cond[0] != "if" && cond[0] != "unless") {
		return nil
	}
	var out []string
	depth := 0
	for _, w := range cond[1:] {
		switch {
		case w == "{":
			depth++
			continue
		case w == "}":
			depth--
			continue
		case depth > 0 || w == "||" || w == "or" || w == "!":
			continue
		}
		name := strings.TrimLeft(w, "!")
		if name == "" || strings.ToUpper(name) == name || strings.ContainsAny(name, "{}()%") {
			continue
		}
		out = append(out, name)
	}
	return out
}

// proxyTimeouts are the timeouts HAProxy 2.6 knows in proxy sections.
var proxyTimeouts = map[string]bool{
	"client": true, "server": true, "connect": true, "check": true, "queue": true,
	"http-keep-alive": true, "http-request": true, "tunnel": true, "tarpit": true,
	"client-fin": true, "server-fin": true,
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
