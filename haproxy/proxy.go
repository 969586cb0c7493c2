package haproxy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

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
