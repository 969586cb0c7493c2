package haproxy

import (
	"errors"
	"fmt"
	"strconv"
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

// sectionLike reports whether kw, written at the start of a line, looks
// like a misspelt section keyword.
func sectionLike(kw string) bool {
	switch kw {
	case "peer", "mailer", "user", "group", "bind", "server", "log", "mode", "ring",
		"http-error", "trace", "node", "crt", "key", "ca", "cookie":
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
	if !mayExpand(l) && !knownKeyword(kw, sec) {
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

// proxyOnly are proxy keywords HAProxy rejects in the global section.
var proxyOnly = map[string]bool{
	"mode": true, "timeout": true, "retries": true, "balance": true, "option": true,
	"acl": true, "default_backend": true, "use_backend": true, "hash-type": true,
	"http-request": true, "http-response": true, "tcp-request": true, "cookie": true,
	"default-server": true,
}

// globalOnly are global keywords HAProxy rejects in proxy sections.
var globalOnly = map[string]bool{
	"daemon": true, "pidfile": true, "chroot": true, "nbthread": true, "uid": true,
	"gid": true, "lua-load": true, "ulimit-n": true, "master-worker": true,
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

var logFacilities = map[string]bool{
	"kern": true, "user": true, "mail": true, "daemon": true, "auth": true, "syslog": true,
	"lpr": true, "news": true, "uucp": true, "cron": true, "auth2": true, "ftp": true,
	"ntp": true, "audit": true, "alert": true, "cron2": true, "local0": true, "local1": true,
	"local2": true, "local3": true, "local4": true, "local5": true, "local6": true, "local7": true,
}

var logLevels = map[string]bool{
	"emerg": true, "alert": true, "crit": true, "err": true, "warning": true,
	"notice": true, "info": true, "debug": true,
}

// checkLog checks the words after "log" as HAProxy 2.6 reads them.
func checkLog(w []string) error {
	if len(w) == 1 && w[0] == "global" {
		return nil
	}
	lg := parseLog(w)
	switch {
	case lg.Address == "" || lg.Facility == "":
		return errors.New("expects <address> and <facility> as arguments")
	case !logFacilities[lg.Facility]:
		return fmt.Errorf("unknown log facility '%s'", lg.Facility)
	case lg.Level != "" && !logLevels[lg.Level]:
		return fmt.Errorf("unknown optional log level '%s'", lg.Level)
	case lg.MinLevel != "" && !logLevels[lg.MinLevel]:
		return fmt.Errorf("unknown optional minimum log level '%s'", lg.MinLevel)
	}
	if n := len(w) - 1 - len(lg.Options); n > 3 {
		return fmt.Errorf("cannot handle unexpected argument '%s'", w[len(w)-1])
	}
	return nil
}

// checkBindAddress rejects what HAProxy cannot bind to for sure: an
// address without a port, or an IPv4-looking host that is not an IPv4
// address. Sockets (unix paths, fd@, ipv4@...) and host names pass.
func checkBindAddress(list string) error {
	if list == "" {
		return errors.New("expects an address")
	}
	for _, a := range strings.Split(list, ",") {
		if strings.Contains(a, "@") || strings.HasPrefix(a, "/") {
			continue
		}
		i := strings.LastIndexByte(a, ':')
		if i < 0 {
			return fmt.Errorf("missing port specification in '%s'", a)
		}
		host := a[:i]
		if host != "" && host != "*" && strings.Trim(host, "0123456789.") == "" && !inetAton(host) {
			return fmt.Errorf("invalid address '%s'", host)
		}
	}
	return nil
}

// inetAton reports whether a host of digits and dots is an IPv4 address
// as the C library reads it when HAProxy falls back to it: one to four
// numbers, a leading 0 meaning octal, the last one filling the bytes
// left ("127.1" and "127.00.1" are 127.0.0.1). A host with an empty part
// is left to the resolver and passes.
func inetAton(host string) bool {
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return false
	}
	for i, p := range parts {
		if p == "" {
			return true
		}
		base := uint64(10)
		if len(p) > 1 && p[0] == '0' {
			base = 8
		}
		n, err := strconv.ParseUint(p, int(base), 32)
		if err != nil {
			return false
		}
		max := uint64(255)
		if i == len(parts)-1 {
			max = 1<<(8*(5-len(parts))) - 1
		}
		if n > max {
			return false
		}
	}
	return true
}

// checkURIOptions checks "balance uri" options: whole, path-only, and len
// or depth with a number.
func checkURIOptions(b Balance) error {
	if b.Algorithm != "uri" {
		return nil
	}
	for i := 0; i < len(b.Options); i++ {
		switch o := b.Options[i]; o {
		case "whole", "path-only":
		case "len", "depth":
			if i+1 >= len(b.Options) || atol(b.Options[i+1]) <= 0 {
				return fmt.Errorf("balance uri: '%s' expects a positive integer", o)
			}
			i++
		default:
			return fmt.Errorf("balance uri only accepts 'len', 'depth', 'path-only' and 'whole' (got '%s')", o)
		}
	}
	return nil
}

// commonKeywords are frequent keywords that no other keyword of their
// sections is one edit away from, so that a word one edit away from them
// is a typo. The list is kept short on purpose: a keyword missing here
// only lowers what Validate catches, while a wrong one would make it
// reject valid files.
var commonKeywords = map[string][]string{
	"proxy": {"server", "timeout", "option", "balance", "default_backend", "use_backend",
		"retries", "maxconn", "hash-type", "default-server", "http-request", "http-response",
		"tcp-request", "cookie", "mode", "bind", "stats"},
	"global": {"maxconn", "daemon", "pidfile", "chroot", "nbthread", "stats"},
}

// nearKeyword returns the common keyword kw is a typo of, or "".
func nearKeyword(kw, sec string) string {
	list := commonKeywords["global"]
	if isProxy(sec) {
		list = commonKeywords["proxy"]
	} else if sec != "global" {
		return ""
	}
	for _, k := range list {
		if kw != k && len(kw) >= 4 && editDistance(kw, k, 1) <= 1 {
			return k
		}
	}
	return ""
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
