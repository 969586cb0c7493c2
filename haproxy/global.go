package haproxy

import (
	"strconv"
)

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
