package haproxy

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Flag is a server setting that can be switched on, switched off with its
// "no-" form, or left unset (inherited from default-server).
type Flag int8

// Flag values.
const (
	Unset Flag = iota
	On
	Off
)

// Server is the typed form of a "server" line. Zero values mean "not
// written on the line", except Weight, which is nil when absent because a
// weight of 0 is meaningful.
type Server struct {
	// Name is the server's name within its backend.
	Name string
	// Address is as written: "192.168.1.1:80", "host:80", "${IP}:80",
	// "unix@/run/s.sock"...
	Address string

	Check      Flag // check / no-check
	Backup     Flag // backup / no-backup
	SSL        Flag // ssl / no-ssl
	AgentCheck Flag // agent-check / no-agent-check
	Disabled   Flag // disabled (On) / enabled (Off)

	Inter, FastInter, DownInter, AgentInter, Slowstart time.Duration
	Rise, Fall, Maxconn, AgentPort                     int
	Weight                                             *int // set with new(n)

	Verify   string // none or required
	SNI      string // sample expression
	InitAddr string // last,libc,none,<ip>...
	Track    string // [backend/]server

	// Extra holds the other words of the line, in order.
	Extra []string
}

// AddrPort returns the server address when it is a literal IP and port.
func (s Server) AddrPort() (netip.AddrPort, error) {
	return netip.ParseAddrPort(strings.TrimPrefix(strings.TrimPrefix(s.Address, "ipv4@"), "ipv6@"))
}

type srvField struct {
	on, off string // keywords; off is "" for valued settings
	arity   int
	get     func(*Server) []string
	set     func(s *Server, kw string, args []string) error
}

func flagField(on, off string, p func(*Server) *Flag) srvField {
	return srvField{on: on, off: off,
		get: func(s *Server) []string {
			switch *p(s) {
			case On:
				return []string{on}
			case Off:
				return []string{off}
			}
			return nil
		},
		set: func(s *Server, kw string, _ []string) error {
			if kw == on {
				*p(s) = On
			} else {
				*p(s) = Off
			}
			return nil
		}}
}

func durField(kw string, positive bool, p func(*Server) *time.Duration) srvField {
	return srvField{on: kw, arity: 1,
		get: func(s *Server) []string {
			if *p(s) == 0 {
				return nil
			}
			return []string{kw, FormatDuration(*p(s))}
		},
		set: func(s *Server, _ string, a []string) error {
			d, err := ParseDuration(a[0])
			if err != nil && !errors.Is(err, ErrTrailingUnit) {
				return err
			}
			if positive && d == 0 {
				return fmt.Errorf("%s: must be greater than zero", kw)
			}
			*p(s) = d
			return nil
		}}
}

// intField reads an integer the way HAProxy does for these settings:
// with atol, so "2s" is 2 and "x" is 0, then checks it against lo..hi.
func intField(kw string, lo, hi int, p func(*Server) *int) srvField {
	return srvField{on: kw, arity: 1,
		get: func(s *Server) []string {
			if *p(s) == 0 {
				return nil
			}
			return []string{kw, strconv.Itoa(*p(s))}
		},
		set: func(s *Server, _ string, a []string) error {
			n := atol(a[0])
			if n < lo || n > hi {
				return fmt.Errorf("%s: %q is not in %d..%d", kw, a[0], lo, hi)
			}
			*p(s) = n
			return nil
		}}
}

// atol mirrors C's atol: optional spaces and sign, then digits up to the
// first other character; no digits give 0.
func atol(s string) int {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	n := 0
	for ; i < len(s) && isDigit(s[i]); i++ {
		if n < math.MaxInt32 {
			n = n*10 + int(s[i]-'0')
		}
	}
	if neg {
		return -n
	}
	return n
}

func strField(kw string, p func(*Server) *string) srvField {
	return srvField{on: kw, arity: 1,
		get: func(s *Server) []string {
			if *p(s) == "" {
				return nil
			}
			return []string{kw, *p(s)}
		},
		set: func(s *Server, _ string, a []string) error { *p(s) = a[0]; return nil }}
}

var srvFields = []srvField{
	flagField("check", "no-check", func(s *Server) *Flag { return &s.Check }),
	durField("inter", true, func(s *Server) *time.Duration { return &s.Inter }),
	durField("fastinter", true, func(s *Server) *time.Duration { return &s.FastInter }),
	durField("downinter", true, func(s *Server) *time.Duration { return &s.DownInter }),
	intField("rise", 1, math.MaxInt32, func(s *Server) *int { return &s.Rise }),
	intField("fall", 1, math.MaxInt32, func(s *Server) *int { return &s.Fall }),
	flagField("backup", "no-backup", func(s *Server) *Flag { return &s.Backup }),
	{on: "weight", arity: 1,
		get: func(s *Server) []string {
			if s.Weight == nil {
				return nil
			}
			return []string{"weight", strconv.Itoa(*s.Weight)}
		},
		set: func(s *Server, _ string, a []string) error {
			n := atol(a[0])
			if n < 0 || n > 256 {
				return fmt.Errorf("weight: %q is not in 0..256", a[0])
			}
			s.Weight = &n
			return nil
		}},
	intField("maxconn", math.MinInt32, math.MaxInt32, func(s *Server) *int { return &s.Maxconn }),
	flagField("disabled", "enabled", func(s *Server) *Flag { return &s.Disabled }),
	flagField("agent-check", "no-agent-check", func(s *Server) *Flag { return &s.AgentCheck }),
	intField("agent-port", math.MinInt32, math.MaxInt32, func(s *Server) *int { return &s.AgentPort }),
	durField("agent-inter", true, func(s *Server) *time.Duration { return &s.AgentInter }),
	flagField("ssl", "no-ssl", func(s *Server) *Flag { return &s.SSL }),
	strField("verify", func(s *Server) *string { return &s.Verify }),
	strField("sni", func(s *Server) *string { return &s.SNI }),
	strField("init-addr", func(s *Server) *string { return &s.InitAddr }),
	durField("slowstart", false, func(s *Server) *time.Duration { return &s.Slowstart }),
	strField("track", func(s *Server) *string { return &s.Track }),
}

// otherArity lists server keywords we do not model that take one value,
// so that their value is never mistaken for a keyword.
var otherArity = map[string]bool{
	"addr": true, "agent-addr": true, "agent-send": true, "alpn": true,
	"ca-file": true, "check-alpn": true, "check-proto": true, "check-sni": true,
	"ciphers": true, "ciphersuites": true, "client-sigalgs": true, "cookie": true,
	"crl-file": true, "crt": true, "curves": true, "error-limit": true,
	"id": true, "log-proto": true, "max-reuse": true, "maxqueue": true,
	"minconn": true, "namespace": true, "npn": true, "observe": true,
	"on-error": true, "on-marked-down": true, "on-marked-up": true,
	"pool-low-conn": true, "pool-max-conn": true, "pool-purge-delay": true,
	"port": true, "proto": true, "proxy-v2-options": true, "redir": true,
	"resolve-net": true, "resolve-opts": true, "resolve-prefer": true,
	"resolvers": true, "set-proxy-v2-tlv-fmt": true, "shard": true,
	"sigalgs": true, "socks4": true, "source": true, "ssl-max-ver": true,
	"ssl-min-ver": true, "tcp-ut": true, "ws": true, "hash-key": true,
	"guid": true, "init-state": true, "log-bufsize": true, "usesrc": true,
	"interface": true, "check-pool-conn-name": true, "pool-conn-name": true,
}

func fieldFor(kw string) int {
	for i, f := range srvFields {
		if kw == f.on || (f.off != "" && kw == f.off) {
			return i
		}
	}
	return -1
}

// span is a word range [from, to) of a line attributed to a field.
type fieldSpan struct{ field, from, to int }

// parseServerWords fills s from w (the words after "server"), returning
// where each known setting sat (indices into w offset by base).
func parseServerWords(w []string, base int) (Server, []fieldSpan, error) {
	var s Server
	var spans []fieldSpan
	var errs []error
	if len(w) < 2 {
		return s, nil, errors.New("server: expects <name> and <addr>")
	}
	s.Name, s.Address = w[0], w[1]
	for i := 2; i < len(w); {
		kw := w[i]
		f := fieldFor(kw)
		if f < 0 {
			n := 1
			if otherArity[kw] && i+1 < len(w) {
				n = 2
			}
			s.Extra = append(s.Extra, w[i:i+n]...)
			i += n
			continue
		}
		fd := srvFields[f]
		ar := fd.arity
		if kw == fd.off {
			ar = 0
		}
		if i+ar >= len(w) {
			errs = append(errs, fmt.Errorf("server %s: '%s' expects an argument", s.Name, kw))
			s.Extra = append(s.Extra, w[i:]...)
			break
		}
		if err := fd.set(&s, kw, w[i+1:i+1+ar]); err != nil {
			errs = append(errs, fmt.Errorf("server %s: %w", s.Name, err))
			s.Extra = append(s.Extra, w[i:i+1+ar]...)
		} else {
			spans = append(spans, fieldSpan{f, base + i, base + i + 1 + ar})
		}
		i += 1 + ar
	}
	return s, spans, errors.Join(errs...)
}

// ParseServer reads a "server" line. The returned Server is usable even
// with an error; words it could not read are kept in Extra.
func ParseServer(l *Line) (Server, error) {
	if l.Arg(0) != "server" {
		return Server{}, fmt.Errorf("not a server line: %q", l.Text)
	}
	s, _, err := parseServerWords(l.Values()[1:], 1)
	return s, err
}

// DefaultServer returns the settings of the proxy's default-server line
// (Name and Address are empty) and the line, or nil when there is none.
func (p *Proxy) DefaultServer() (Server, *Line, error) {
	l := p.Find("default-server")
	if l == nil {
		return Server{}, nil, nil
	}
	// Read the options as if after a name and an address.
	s, _, err := parseServerWords(append([]string{"", ""}, l.Values()[1:]...), -1)
	return s, l, err
}

// Words returns the server line's words in canonical order.
func (s Server) Words() []string {
	w := []string{"server", s.Name, s.Address}
	for i := range srvFields {
		w = append(w, srvFields[i].get(&s)...)
	}
	return append(w, s.Extra...)
}

// Servers returns the proxy's servers in order; lines that cannot be
// read fully are returned with what could be read.
func (p *Proxy) Servers() []Server {
	var out []Server
	for _, l := range p.FindAll("server") {
		s, _ := ParseServer(l)
		out = append(out, s)
	}
	return out
}

// Server returns the server named name and its line, or nil.
func (p *Proxy) Server(name string) (Server, *Line) {
	for _, l := range p.FindAll("server", name) {
		s, _ := ParseServer(l)
		return s, l
	}
	return Server{}, nil
}

// AddServer appends a server line after the last directive.
func (p *Proxy) AddServer(s Server) *Line {
	return p.Add(s.Words()...)
}

// DeleteServer removes the server named name, with the comment lines
// directly above it, and reports whether it was there.
func (p *Proxy) DeleteServer(name string) bool {
	_, l := p.Server(name)
	return l != nil && p.DeleteWithComments(l)
}

// SetServer updates the server named s.Name (adding it when absent). Only
// the words whose typed value changed are rewritten, in place; new
// settings are appended to the line, so an unchanged setting keeps its
// spelling ("2000ms" stays "2000ms").
func (p *Proxy) SetServer(s Server) *Line {
	old, l := p.Server(s.Name)
	if l == nil {
		return p.AddServer(s)
	}
	switch {
	case len(l.Words) < 3:
		l.insertWords(len(l.Words), Quote(s.Address))
	case old.Address != s.Address:
		l.setWord(2, Quote(s.Address))
	}
	for f := range srvFields {
		fd := srvFields[f]
		nw := fd.get(&s)
		if slices.Equal(fd.get(&old), nw) {
			continue
		}
		_, spans, _ := parseServerWords(l.Values()[1:], 1)
		at := -1
		for _, sp := range spans {
			if sp.field == f {
				at = sp.from
				l.deleteWords(sp.from, sp.to)
				break
			}
		}
		if len(nw) == 0 {
			continue
		}
		raws := make([]string, len(nw))
		for i, v := range nw {
			raws[i] = Quote(v)
		}
		if at < 0 {
			at = len(l.Words)
			// Keep unknown trailing words last only when they were last
			// before: appending after them is what a human would do too.
		}
		l.insertWords(at, raws...)
	}
	if !slices.Equal(old.Extra, s.Extra) {
		// Drop the old unknown words and append the new ones.
		_, spans, _ := parseServerWords(l.Values()[1:], 1)
		known := make([]bool, len(l.Words))
		for _, sp := range spans {
			for i := sp.from; i < sp.to; i++ {
				known[i] = true
			}
		}
		for i := len(l.Words) - 1; i >= 3; i-- {
			if !known[i] {
				l.deleteWords(i, i+1)
			}
		}
		raws := make([]string, len(s.Extra))
		for i, v := range s.Extra {
			raws[i] = Quote(v)
		}
		l.insertWords(len(l.Words), raws...)
	}
	return l
}
