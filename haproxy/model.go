package haproxy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// intValue returns the integer after the given leading words.
func (s *Section) intValue(words ...string) (int, bool, error) {
	l := s.Find(words...)
	if l == nil {
		return 0, false, nil
	}
	v := l.Arg(len(words))
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, true, fmt.Errorf("%s: %q is not an integer", strings.Join(words, " "), v)
	}
	return n, true, nil
}

// Size returns the size after the given leading words ("tune.bufsize"),
// read with HAProxy's k/m/g suffixes.
func (s *Section) Size(words ...string) (uint64, bool, error) {
	v, ok := s.Value(words...)
	if !ok {
		return 0, false, nil
	}
	n, err := ParseSize(v)
	return n, true, err
}

// SetSize sets the directive to n, written with the largest exact suffix.
func (s *Section) SetSize(n uint64, words ...string) {
	if old, ok, err := s.Size(words...); ok && err == nil && old == n {
		return
	}
	s.Set(len(words), append(words, FormatSize(n))...)
}

// Value returns the value of the word after the given leading words of
// the first matching directive, and whether there was one.
func (s *Section) Value(words ...string) (string, bool) {
	l := s.Find(words...)
	if l == nil {
		return "", false
	}
	return l.Arg(len(words)), true
}

// Flag reports whether a directive consisting of the given words is
// present, honouring a later "no" form (as in "no option httplog").
func (s *Section) Flag(words ...string) bool {
	on := false
	for _, l := range s.Lines {
		if matchWords(l, words) && len(l.Words) == len(words) {
			on = true
		}
		if len(l.Words) == len(words)+1 && l.Arg(0) == "no" {
			nl := *l
			nl.Words = l.Words[1:]
			if matchWords(&nl, words) {
				on = false
			}
		}
	}
	return on
}

// SetFlag adds the directive made of words, or removes it (and any "no"
// form) when on is false.
func (s *Section) SetFlag(on bool, words ...string) {
	no := append([]string{"no"}, words...)
	if on {
		s.Unset(no...)
		if s.Find(words...) == nil {
			s.Add(words...)
		}
		return
	}
	s.Unset(words...)
}

// Global is the typed view of the global section.
type Global struct{ *Section }

// Global returns the first global section, or nil.
func (c *Config) Global() *Global {
	for _, s := range c.Sections {
		if s.Keyword() == "global" {
			return &Global{s}
		}
	}
	return nil
}

// EnsureGlobal returns the global section, creating it first in the file
// (after the leading comments) when there is none.
func (c *Config) EnsureGlobal() *Global {
	if g := c.Global(); g != nil {
		return g
	}
	s := &Section{Header: NewLine("", "global")}
	secs := make([]*Section, 0, len(c.Sections)+1)
	secs = append(secs, c.Sections[0], s)
	c.Sections = append(secs, c.Sections[1:]...)
	if p := c.Sections[0]; len(p.Lines) > 0 && p.Lines[len(p.Lines)-1].EOL == "" {
		p.Lines[len(p.Lines)-1].EOL = "\n"
	}
	return &Global{s}
}

// Maxconn returns the global maxconn.
func (g *Global) Maxconn() (int, bool, error) { return g.intValue("maxconn") }

// SetMaxconn sets the global maxconn.
func (g *Global) SetMaxconn(n int) { g.Set(1, "maxconn", strconv.Itoa(n)) }

// User returns the user HAProxy switches to.
func (g *Global) User() string { v, _ := g.Value("user"); return v }

// SetUser sets the user HAProxy switches to.
func (g *Global) SetUser(u string) { g.Set(1, "user", u) }

// Group returns the group HAProxy switches to.
func (g *Global) Group() string { v, _ := g.Value("group"); return v }

// SetGroup sets the group HAProxy switches to.
func (g *Global) SetGroup(name string) { g.Set(1, "group", name) }

// Daemon reports whether HAProxy forks into the background.
func (g *Global) Daemon() bool { return g.Flag("daemon") }

// SetDaemon adds or removes the daemon keyword.
func (g *Global) SetDaemon(on bool) { g.SetFlag(on, "daemon") }

// Chroot returns the chroot directory.
func (g *Global) Chroot() string { v, _ := g.Value("chroot"); return v }

// SetChroot sets the chroot directory.
func (g *Global) SetChroot(dir string) { g.Set(1, "chroot", dir) }

// Pidfile returns the pid file path.
func (g *Global) Pidfile() string { v, _ := g.Value("pidfile"); return v }

// SetPidfile sets the pid file path.
func (g *Global) SetPidfile(p string) { g.Set(1, "pidfile", p) }

// SSLDefaultBindCiphers returns ssl-default-bind-ciphers.
func (g *Global) SSLDefaultBindCiphers() string {
	v, _ := g.Value("ssl-default-bind-ciphers")
	return v
}

// SSLDefaultBindOptions returns the words of ssl-default-bind-options.
func (g *Global) SSLDefaultBindOptions() []string {
	if l := g.Find("ssl-default-bind-options"); l != nil {
		return l.Values()[1:]
	}
	return nil
}

// SetSSLDefaultBindOptions sets ssl-default-bind-options.
func (g *Global) SetSSLDefaultBindOptions(opts ...string) {
	g.Set(1, append([]string{"ssl-default-bind-options"}, opts...)...)
}

// Log is one log directive: "log global" or a target with a facility.
type Log struct {
	// Global is true for "log global".
	Global bool
	// Address is the target: an IP[:port], a socket path, "stdout"...
	Address string
	// Facility is the syslog facility (local0, daemon...).
	Facility string
	// Level and MinLevel bound the levels sent; "" when absent.
	Level, MinLevel string
	// Options are len/format/sample settings with their values.
	Options []string
}

// Logs returns the section's log directives.
func (s *Section) Logs() []Log {
	var out []Log
	for _, l := range s.FindAll("log") {
		out = append(out, parseLog(l.Values()[1:]))
	}
	return out
}

func parseLog(w []string) Log {
	var lg Log
	if len(w) == 0 {
		return lg
	}
	if w[0] == "global" {
		lg.Global = true
		return lg
	}
	lg.Address = w[0]
	rest := w[1:]
	for len(rest) >= 2 && (rest[0] == "len" || rest[0] == "format" || rest[0] == "sample" || rest[0] == "profile") {
		lg.Options = append(lg.Options, rest[0], rest[1])
		rest = rest[2:]
	}
	for i, v := range rest {
		switch i {
		case 0:
			lg.Facility = v
		case 1:
			lg.Level = v
		case 2:
			lg.MinLevel = v
		}
	}
	return lg
}

// words returns the directive's words after "log".
func (lg Log) words() []string {
	if lg.Global {
		return []string{"log", "global"}
	}
	w := append([]string{"log", lg.Address}, lg.Options...)
	for _, v := range []string{lg.Facility, lg.Level, lg.MinLevel} {
		if v == "" {
			break
		}
		w = append(w, v)
	}
	return w
}

// AddLog appends a log directive.
func (s *Section) AddLog(lg Log) *Line { return s.Add(lg.words()...) }

// StatsSocket is a "stats socket" directive of the global section.
type StatsSocket struct {
	// Address is a socket path or ipv4@/ipv6@/unix@ address.
	Address string
	// Options are the bind options that follow (mode, level...).
	Options []string
}

// StatsSockets returns the stats sockets declared in global.
func (g *Global) StatsSockets() []StatsSocket {
	var out []StatsSocket
	for _, l := range g.FindAll("stats", "socket") {
		v := l.Values()
		out = append(out, StatsSocket{Address: v[min(2, len(v)-1)], Options: v[min(3, len(v)):]})
	}
	return out
}

// AddStatsSocket appends a stats socket directive.
func (g *Global) AddStatsSocket(s StatsSocket) *Line {
	return g.Add(append([]string{"stats", "socket", s.Address}, s.Options...)...)
}

// Proxy is the typed view of a defaults, frontend, backend or listen
// section.
type Proxy struct{ *Section }

// proxies returns the sections with the keyword as Proxies.
func (c *Config) proxies(kw string) []*Proxy {
	var out []*Proxy
	for _, s := range c.Sections {
		if s.Keyword() == kw {
			out = append(out, &Proxy{s})
		}
	}
	return out
}

// Defaults returns the defaults sections.
func (c *Config) Defaults() []*Proxy { return c.proxies("defaults") }

// Frontends returns the frontend sections.
func (c *Config) Frontends() []*Proxy { return c.proxies("frontend") }

// Backends returns the backend sections.
func (c *Config) Backends() []*Proxy { return c.proxies("backend") }

// Listens returns the listen sections.
func (c *Config) Listens() []*Proxy { return c.proxies("listen") }

// Frontend returns the frontend (or listen) named name, or nil.
func (c *Config) Frontend(name string) *Proxy { return c.proxy(name, "frontend", "listen") }

// Backend returns the backend (or listen) named name, or nil.
func (c *Config) Backend(name string) *Proxy { return c.proxy(name, "backend", "listen") }

func (c *Config) proxy(name string, kws ...string) *Proxy {
	for _, s := range c.Sections {
		if s.Header == nil || s.Name() != name {
			continue
		}
		for _, kw := range kws {
			if s.Keyword() == kw {
				return &Proxy{s}
			}
		}
	}
	return nil
}

// AddProxy appends a new proxy section ("defaults", "frontend",
// "backend" or "listen") named name.
func (c *Config) AddProxy(keyword, name string) *Proxy {
	if name == "" {
		return &Proxy{c.AddSection(keyword)}
	}
	return &Proxy{c.AddSection(keyword, name)}
}

// Mode returns the proxy mode (http, tcp, log), "" when not set here.
func (p *Proxy) Mode() string { v, _ := p.Value("mode"); return v }

// SetMode sets the proxy mode.
func (p *Proxy) SetMode(m string) { p.Set(1, "mode", m) }

// Maxconn returns the proxy's maxconn.
func (p *Proxy) Maxconn() (int, bool, error) { return p.intValue("maxconn") }

// SetMaxconn sets the proxy's maxconn.
func (p *Proxy) SetMaxconn(n int) { p.Set(1, "maxconn", strconv.Itoa(n)) }

// Retries returns the retries setting.
func (p *Proxy) Retries() (int, bool, error) { return p.intValue("retries") }

// SetRetries sets retries.
func (p *Proxy) SetRetries(n int) { p.Set(1, "retries", strconv.Itoa(n)) }

// Options returns the arguments of every "option" line ("httplog"...);
// a "no option x" line is reported as "no x".
func (p *Proxy) Options() []string {
	var out []string
	for _, l := range p.Lines {
		switch {
		case l.Kind == DirectiveLine && l.Arg(0) == "option":
			out = append(out, strings.Join(l.Values()[1:], " "))
		case l.Kind == DirectiveLine && l.Arg(0) == "no" && l.Arg(1) == "option":
			out = append(out, "no "+strings.Join(l.Values()[2:], " "))
		}
	}
	return out
}

// Timeout returns "timeout <name>" as a duration.
func (p *Proxy) Timeout(name string) (time.Duration, bool, error) {
	l := p.Find("timeout", name)
	if l == nil {
		return 0, false, nil
	}
	d, err := ParseDuration(l.Arg(2))
	return d, true, err
}

// SetTimeout sets "timeout <name>" to d.
func (p *Proxy) SetTimeout(name string, d time.Duration) {
	if old, ok, err := p.Timeout(name); ok && err == nil && old == d {
		return
	}
	p.Set(2, "timeout", name, FormatDuration(d))
}

// DefaultBackend returns the default_backend, or "".
func (p *Proxy) DefaultBackend() string { v, _ := p.Value("default_backend"); return v }

// SetDefaultBackend sets default_backend.
func (p *Proxy) SetDefaultBackend(name string) { p.Set(1, "default_backend", name) }

// UseBackend is a use_backend rule.
type UseBackend struct {
	// Backend is the target backend name (may be a log-format string).
	Backend string
	// Cond is the condition as written ("if is_api"), or "".
	Cond string
	// Line is the directive.
	Line *Line
}

// UseBackends returns the use_backend rules in order.
func (p *Proxy) UseBackends() []UseBackend {
	var out []UseBackend
	for _, l := range p.FindAll("use_backend") {
		u := UseBackend{Backend: l.Arg(1), Line: l}
		if len(l.Words) > 2 {
			u.Cond = l.Text[l.Words[2].Off:l.end]
			u.Cond = strings.TrimRight(u.Cond, " \t")
		}
		out = append(out, u)
	}
	return out
}

// AddUseBackend appends "use_backend name cond"; cond is written as is.
func (p *Proxy) AddUseBackend(name, cond string) *Line {
	l := p.Add("use_backend", name)
	if cond != "" {
		l.insertWords(len(l.Words), cond)
	}
	return l
}

// Bind is a bind line.
type Bind struct {
	// Address is as written: "192.168.0.10:80", "*:80", ":443",
	// "10.0.0.1:8000-8010", "unix@/run/x.sock", "ipv6@:::80", or a
	// comma-separated list of those.
	Address string
	// SSL is true when the ssl keyword is present.
	SSL bool
	// Crt is the certificate given with crt, or "".
	Crt string
	// Options are the remaining words, in order.
	Options []string
}

// Binds returns the proxy's bind lines.
func (p *Proxy) Binds() []Bind {
	var out []Bind
	for _, l := range p.FindAll("bind") {
		out = append(out, parseBind(l.Values()[1:]))
	}
	return out
}

func parseBind(w []string) Bind {
	var b Bind
	if len(w) == 0 {
		return b
	}
	b.Address = w[0]
	for i := 1; i < len(w); i++ {
		switch w[i] {
		case "ssl":
			b.SSL = true
		case "crt":
			if i+1 < len(w) && b.Crt == "" {
				b.Crt = w[i+1]
				i++
				continue
			}
			b.Options = append(b.Options, w[i])
		default:
			b.Options = append(b.Options, w[i])
		}
	}
	return b
}

func (b Bind) words() []string {
	w := []string{"bind", b.Address}
	if b.SSL {
		w = append(w, "ssl")
	}
	if b.Crt != "" {
		w = append(w, "crt", b.Crt)
	}
	return append(w, b.Options...)
}

// AddBind appends a bind line.
func (p *Proxy) AddBind(b Bind) *Line { return p.Add(b.words()...) }

// Ports returns the port range of the bind's first address; a single
// port gives lo == hi.
func (b Bind) Ports() (lo, hi int, err error) {
	addr, _, _ := strings.Cut(b.Address, ",")
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return 0, 0, fmt.Errorf("bind %q: no port", b.Address)
	}
	return parsePortRange(addr[i+1:])
}

func parsePortRange(s string) (lo, hi int, err error) {
	a, z, rng := strings.Cut(s, "-")
	lo, err = strconv.Atoi(a)
	if err != nil || lo < 1 || lo > 65535 {
		return 0, 0, fmt.Errorf("invalid port %q", s)
	}
	hi = lo
	if rng {
		hi, err = strconv.Atoi(z)
		if err != nil || hi < lo || hi > 65535 {
			return 0, 0, fmt.Errorf("invalid port range %q", s)
		}
	}
	return lo, hi, nil
}

// AddrPort returns the bind's address and first port when it is a
// literal IP (or "*" / empty for any IPv4 address).
func (b Bind) AddrPort() (netip.AddrPort, error) {
	addr, _, _ := strings.Cut(b.Address, ",")
	addr = strings.TrimPrefix(strings.TrimPrefix(addr, "ipv4@"), "ipv6@")
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("bind %q: no port", b.Address)
	}
	lo, _, err := parsePortRange(addr[i+1:])
	if err != nil {
		return netip.AddrPort{}, err
	}
	host := addr[:i]
	if host == "" || host == "*" {
		return netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(lo)), nil
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bind %q: %w", b.Address, err)
	}
	return netip.AddrPortFrom(ip, uint16(lo)), nil
}

// Balance is a backend's load-balancing algorithm.
type Balance struct {
	// Algorithm is roundrobin, static-rr, leastconn, first, source, uri,
	// url_param, hdr, rdp-cookie, random or hash.
	Algorithm string
	// Param is the algorithm's parameter: the header of hdr(name), the
	// cookie of rdp-cookie(name), the draws of random(n), the url_param
	// name, or the sample expression of hash.
	Param string
	// Options are the remaining words (uri's whole/len/depth/path-only,
	// url_param's check_post...).
	Options []string
}

var balanceAlgorithms = map[string]bool{
	"roundrobin": true, "static-rr": true, "leastconn": true, "first": true,
	"source": true, "uri": true, "url_param": true, "hdr": true,
	"rdp-cookie": true, "random": true, "hash": true,
}

// ParseBalance parses the words after "balance". No words is round
// robin, as HAProxy reads a bare "balance" line.
func ParseBalance(w []string) (Balance, error) {
	var b Balance
	if len(w) == 0 {
		return Balance{Algorithm: "roundrobin"}, nil
	}
	alg := w[0]
	if i := strings.IndexByte(alg, '('); i >= 0 && strings.HasSuffix(alg, ")") {
		b.Param = alg[i+1 : len(alg)-1]
		alg = alg[:i]
	}
	b.Algorithm = alg
	if !balanceAlgorithms[alg] {
		return b, fmt.Errorf("balance: unknown algorithm %q", w[0])
	}
	rest := w[1:]
	if (alg == "url_param" || alg == "hash") && len(rest) > 0 {
		b.Param, rest = rest[0], rest[1:]
	}
	if alg == "hdr" && b.Param == "" {
		return b, fmt.Errorf("balance: hdr requires a header name: hdr(name)")
	}
	if (alg == "url_param" || alg == "hash") && b.Param == "" {
		return b, fmt.Errorf("balance: %s requires an argument", alg)
	}
	b.Options = rest
	return b, nil
}

// Words returns the words after "balance".
func (b Balance) Words() []string {
	var w []string
	switch b.Algorithm {
	case "hdr", "rdp-cookie", "random":
		if b.Param != "" {
			w = append(w, b.Algorithm+"("+b.Param+")")
		} else {
			w = append(w, b.Algorithm)
		}
	case "url_param", "hash":
		w = append(w, b.Algorithm, b.Param)
	default:
		w = append(w, b.Algorithm)
	}
	return append(w, b.Options...)
}

// Balance returns the proxy's balance setting.
func (p *Proxy) Balance() (Balance, bool, error) {
	l := p.Find("balance")
	if l == nil {
		return Balance{}, false, nil
	}
	b, err := ParseBalance(l.Values()[1:])
	return b, true, err
}

// SetBalance sets the balance line.
func (p *Proxy) SetBalance(b Balance) {
	p.Set(1, append([]string{"balance"}, b.Words()...)...)
}

// HashType is a backend's hash-type setting.
type HashType struct {
	// Method is map-based or consistent.
	Method string
	// Function is sdbm, djb2, wt6 or crc32 (HAProxy 2.6); "" for the
	// default.
	Function string
	// Avalanche is true when the avalanche modifier is set.
	Avalanche bool
}

// HashType returns the proxy's hash-type.
func (p *Proxy) HashType() (HashType, bool, error) {
	l := p.Find("hash-type")
	if l == nil {
		return HashType{}, false, nil
	}
	h, err := parseHashType(l.Values()[1:])
	return h, true, err
}

func parseHashType(v []string) (HashType, error) {
	var h HashType
	if len(v) == 0 || (v[0] != "map-based" && v[0] != "consistent") {
		return h, fmt.Errorf("hash-type: expects map-based or consistent")
	}
	h.Method = v[0]
	for _, x := range v[1:] {
		switch x {
		case "sdbm", "djb2", "wt6", "crc32":
			h.Function = x
		case "avalanche":
			h.Avalanche = true
		default:
			return h, fmt.Errorf("hash-type: unknown word %q", x)
		}
	}
	return h, nil
}

// SetHashType sets hash-type.
func (p *Proxy) SetHashType(h HashType) {
	w := []string{"hash-type", h.Method}
	if h.Function != "" {
		w = append(w, h.Function)
	}
	if h.Avalanche {
		w = append(w, "avalanche")
	}
	p.Set(1, w...)
}
