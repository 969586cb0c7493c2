package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/lvskit/lvskit/keepalivedconf"
)

// Mode says which of keepalived's subsystems lvsrouter runs: both (the
// default), VRRP only (-P, --vrrp) or the checkers and IPVS only (-C,
// --check). keepalived runs each subsystem in a child process; lvsrouter
// runs what the mode selects in its one process.
type Mode int

const (
	// ModeAll runs VRRP, the health checkers and IPVS.
	ModeAll Mode = iota
	// ModeVRRP runs the VRRP instances only: it never opens an IPVS socket
	// and runs no health check (keepalived -P).
	ModeVRRP
	// ModeCheck runs the health checkers and IPVS only: it never adds or
	// removes an address (keepalived -C).
	ModeCheck
)

// options are lvsrouter's command line: keepalived 2.2.7's options, short
// and long, and lvsrouter's own (--json, --keywords, --log-level, --metrics-addr,
// --status-socket).
type options struct {
	File         string
	Mode         Mode
	Test         bool
	TestLog      string // -t=LOG_FILE: where -t writes its report
	JSON         bool
	Keywords     bool // --keywords: print the keyword table (keywords.go)
	Level        slog.Level
	Console      bool   // -l: log to the console (stderr)
	NoSyslog     bool   // -G: no syslog
	Facility     string // -S: syslog facility
	PidFile      string // -p: the main pid file
	VRRPPidFile  string // -r
	CheckPidFile string // -c
	ConfigID     string // -i; the short host name when not given
	ConfigIDSet  bool
	KeepIPVS     bool   // -I
	Umask        int    // -u; -1 when not given
	DumpConf     bool   // -d
	CoreDump     bool   // -m
	Signum       string // --signum=NAME
	Version      bool
	Help         bool
	StatusSock   string
	MetricsAddr  string
	BGPFile      string // --bgp: the BGP speaker's file (bgpconf.go)
}

// Default pid files, keepalived 2.2.7's (--runstatedir=/run on Debian).
const (
	defaultPidFile      = "/run/keepalived.pid"
	defaultVRRPPidFile  = "/run/keepalived_vrrp.pid"
	defaultCheckPidFile = "/run/keepalived_checkers.pid"
)

// optKind says how an option is handled.
type optKind int

const (
	optFlag     optKind = iota // no argument
	optRequired                // takes an argument
	optOptional                // takes an argument only as --name=ARG (or -xARG)
)

// option is one command-line option: keepalived's, with what it means for
// lvsrouter, or lvsrouter's own. refused options are accepted by the
// parser only to be refused with their name and why.
type option struct {
	short   byte // 0 if none
	long    string
	kind    optKind
	argName string
	help    string
	// refuse, when set, is why lvsrouter cannot honour the option.
	refuse string
	set    func(o *options, arg string) error
}

// options lists every option of keepalived 2.2.7's --help, in its order,
// then lvsrouter's own.
var optionTable = []option{
	{short: 'f', long: "use-file", kind: optRequired, argName: "FILE",
		help: "Use the specified configuration file (default '/etc/keepalived/keepalived.conf')",
		set:  func(o *options, a string) error { o.File = a; return nil }},
	{short: 'P', long: "vrrp", help: "Only run the VRRP subsystem: no IPVS socket is opened and no check runs",
		set: func(o *options, _ string) error { return o.setMode(ModeVRRP) }},
	{short: 'C', long: "check", help: "Only run the health checkers and IPVS: no address is added or removed",
		set: func(o *options, _ string) error { return o.setMode(ModeCheck) }},
	{short: 'B', long: "no_bfd", help: "Don't run BFD (lvsrouter has no BFD subsystem: it never runs BFD)",
		set: func(*options, string) error { return nil }},
	{long: "all", help: "Run every subsystem even without configuration for it (lvsrouter always runs in one process, configured or not)",
		set: func(*options, string) error { return nil }},
	{short: 'l', long: "log-console", help: "Log messages to the console (stderr)",
		set: func(o *options, _ string) error { o.Console = true; return nil }},
	{short: 'D', long: "log-detail", help: "Detailed log messages (debug level)",
		set: func(o *options, _ string) error { o.Level = slog.LevelDebug; return nil }},
	{short: 'S', long: "log-facility", kind: optRequired, argName: "([0-7]|local[0-7]|user|daemon)",
		help: "Set the syslog facility to LOG_LOCAL[0-7], user or daemon (default)",
		set:  func(o *options, a string) error { o.Facility = a; _, err := facility(a); return err }},
	{short: 'G', long: "no-syslog", help: "Don't log via syslog",
		set: func(o *options, _ string) error { o.NoSyslog = true; return nil }},
	{short: 'u', long: "umask", kind: optRequired, argName: "MASK", help: "umask for file creation (in numeric form)",
		set: func(o *options, a string) error {
			m, err := strconv.ParseUint(a, 0, 32)
			if err != nil || m > 0o777 {
				return fmt.Errorf("invalid umask %q", a)
			}
			o.Umask = int(m)
			return nil
		}},
	{short: 'X', long: "release-vips", refuse: "lvsrouter does not take transitions from signals"},
	{short: 'V', long: "dont-release-vrrp", refuse: "lvsrouter always removes its VIPs on stop"},
	{short: 'I', long: "dont-release-ipvs", help: "Don't remove IPVS topology on stop (the next start adopts it)",
		set: func(o *options, _ string) error { o.KeepIPVS = true; return nil }},
	{short: 'R', long: "dont-respawn", help: "Don't respawn child processes (lvsrouter has none)",
		set: func(*options, string) error { return nil }},
	{short: 'n', long: "dont-fork", help: "Don't fork the daemon process (lvsrouter never forks)",
		set: func(*options, string) error { return nil }},
	{short: 'd', long: "dump-conf", help: "Dump the configuration data (the plan, as JSON, to the log at start)",
		set: func(o *options, _ string) error { o.DumpConf = true; return nil }},
	{short: 'p', long: "pid", kind: optRequired, argName: "FILE", help: "Use the specified pidfile (default " + defaultPidFile + ")",
		set: func(o *options, a string) error { o.PidFile = a; return nil }},
	{short: 'r', long: "vrrp_pid", kind: optRequired, argName: "FILE", help: "Use the specified pidfile for VRRP (default " + defaultVRRPPidFile + ")",
		set: func(o *options, a string) error { o.VRRPPidFile = a; return nil }},
	{short: 'T', long: "genhash", refuse: "genhash is a separate tool"},
	{short: 'c', long: "checkers_pid", kind: optRequired, argName: "FILE", help: "Use the specified pidfile for the checkers (default " + defaultCheckPidFile + ")",
		set: func(o *options, a string) error { o.CheckPidFile = a; return nil }},
	{short: 'a', long: "address-monitoring", refuse: "lvsrouter does not report netlink address changes"},
	{short: 'b', long: "bfd_pid", kind: optRequired, argName: "FILE", help: "Use the specified pidfile for BFD (never written: lvsrouter runs no BFD)",
		set: func(*options, string) error { return nil }},
	{short: 'x', long: "snmp", refuse: "lvsrouter has no SNMP subsystem (see --metrics-addr)"},
	{short: 'A', long: "snmp-agent-socket", kind: optRequired, argName: "FILE", refuse: "lvsrouter has no SNMP subsystem (see --metrics-addr)"},
	{short: 's', long: "namespace", kind: optRequired, argName: "NAME", refuse: "start lvsrouter in the namespace instead (ip netns exec NAME lvsrouter)"},
	{short: 'm', long: "core-dump", help: "Produce a core dump if terminating abnormally",
		set: func(o *options, _ string) error { o.CoreDump = true; return nil }},
	{short: 'M', long: "core-dump-pattern", kind: optOptional, argName: "PATN", refuse: "lvsrouter does not change kernel.core_pattern"},
	{short: 'e', long: "all-config", refuse: "use includet in the configuration to require a file"},
	{short: 'i', long: "config-id", kind: optRequired, argName: "id",
		help: "Skip configuration lines beginning '@' that don't match id, and lines beginning '@^' that do (default: the node name up to its first dot)",
		set:  func(o *options, a string) error { o.ConfigID, o.ConfigIDSet = a, true; return nil }},
	{long: "signum", kind: optRequired, argName: "SIGFUNC", help: "Print the signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON",
		set: func(o *options, a string) error { o.Signum = a; return nil }},
	{short: 't', long: "config-test", kind: optOptional, argName: "LOG_FILE",
		help: "Check the configuration against this host and exit (report to stderr, or LOG_FILE)",
		set:  func(o *options, a string) error { o.Test, o.TestLog = true, a; return nil }},
	{short: 'v', long: "version", help: "Display the version number",
		set: func(o *options, _ string) error { o.Version = true; return nil }},
	{short: 'h', long: "help", help: "Display this help message",
		set: func(o *options, _ string) error { o.Help = true; return nil }},
	// lvsrouter's own.
	{long: "json", help: "Print the plan (VRRP instances, IPVS services, checks) as JSON and exit; with -t, only when the configuration is clean",
		set: func(o *options, _ string) error { o.JSON = true; return nil }},
	{long: "keywords", help: "Print every keepalived.conf keyword with what lvsrouter does with it (implemented, or refused and why), as Markdown, and exit",
		set: func(o *options, _ string) error { o.Keywords = true; return nil }},
	{long: "log-level", kind: optRequired, argName: "LEVEL", help: "Log level: debug, info, warn, error (default info)",
		set: func(o *options, a string) error { return o.Level.UnmarshalText([]byte(a)) }},
	{long: "metrics-addr", kind: optRequired, argName: "ADDR", help: "Serve Prometheus metrics on http://ADDR/metrics (off by default)",
		set: func(o *options, a string) error { o.MetricsAddr = a; return nil }},
	{long: "status-socket", kind: optRequired, argName: "PATH", help: "Answer the live state as JSON on this unix socket (mode 0600; off by default)",
		set: func(o *options, a string) error { o.StatusSock = a; return nil }},
	{long: "bgp", kind: optRequired, argName: "FILE", help: "Announce the virtual addresses with BGP as this file says (scale-out; off by default)",
		set: func(o *options, a string) error { o.BGPFile = a; return nil }},
}

// ownSingleDash are lvsrouter's own long options that earlier versions
// took with one dash (-json, -log-level); they still are.
var ownSingleDash = map[string]bool{"json": true, "keywords": true, "log-level": true, "metrics-addr": true, "status-socket": true}

func (o *options) setMode(m Mode) error {
	if o.Mode != ModeAll && o.Mode != m {
		return errors.New("-P (--vrrp) and -C (--check) exclude each other")
	}
	o.Mode = m
	return nil
}

// errUsage is a command line lvsrouter refuses; its text names the option.
type errUsage struct{ msg string }

func (e errUsage) Error() string { return e.msg }

// parseArgs reads a command line as keepalived's getopt_long does: short
// options may be grouped (-nlD) and take their argument attached (-fFILE)
// or as the next word; long options take theirs as --name=ARG or the next
// word, and may be shortened to any unique prefix; an optional argument
// (-t, -M) is taken only when attached. It refuses unknown options,
// options lvsrouter cannot honour (naming them and why), and non-option
// words.
func parseArgs(args []string) (*options, error) {
	o := &options{File: "/etc/keepalived/keepalived.conf", Level: slog.LevelInfo, Umask: -1}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				return nil, errUsage{fmt.Sprintf("unexpected argument %q", args[i+1])}
			}
			return o, nil
		case strings.HasPrefix(a, "--") || (strings.HasPrefix(a, "-") && ownSingleDash[strings.SplitN(a[1:], "=", 2)[0]]):
			name, arg, hasArg := strings.Cut(strings.TrimLeft(a, "-"), "=")
			opt, err := lookupLong(name)
			if err != nil {
				return nil, err
			}
			label := "--" + opt.long
			switch opt.kind {
			case optFlag:
				if hasArg {
					return nil, errUsage{fmt.Sprintf("option %s doesn't allow an argument", label)}
				}
			case optRequired:
				if !hasArg {
					if i+1 >= len(args) {
						return nil, errUsage{fmt.Sprintf("option %s requires an argument", label)}
					}
					i++
					arg = args[i]
				}
			}
			if err := apply(o, opt, label, arg); err != nil {
				return nil, err
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				opt := lookupShort(a[j])
				if opt == nil {
					return nil, errUsage{fmt.Sprintf("invalid option -- '%c'", a[j])}
				}
				label := "-" + string(a[j])
				var arg string
				switch opt.kind {
				case optRequired:
					if j+1 < len(a) {
						arg = a[j+1:]
					} else if i+1 < len(args) {
						i++
						arg = args[i]
					} else {
						return nil, errUsage{fmt.Sprintf("option requires an argument -- '%c'", a[j])}
					}
					j = len(a)
				case optOptional:
					arg = a[j+1:]
					j = len(a)
				}
				if err := apply(o, opt, label, arg); err != nil {
					return nil, err
				}
			}
		default:
			return nil, errUsage{fmt.Sprintf("unexpected argument %q", a)}
		}
	}
	if o.BGPFile != "" && o.Mode == ModeVRRP {
		// Quorum, which decides what is announced, comes from the checkers.
		return nil, errUsage{"option --bgp not supported with -P (--vrrp): the checkers decide what is announced"}
	}
	return o, nil
}

func apply(o *options, opt *option, label, arg string) error {
	if opt.refuse != "" {
		if !strings.HasPrefix(label, "--") {
			label += " (--" + opt.long + ")"
		}
		return errUsage{fmt.Sprintf("option %s not supported: %s", label, opt.refuse)}
	}
	if err := opt.set(o, arg); err != nil {
		return errUsage{fmt.Sprintf("option %s: %v", label, err)}
	}
	return nil
}

func lookupShort(c byte) *option {
	for i := range optionTable {
		if optionTable[i].short == c && c != 0 {
			return &optionTable[i]
		}
	}
	return nil
}

// lookupLong finds a long option by its name or a unique prefix of it.
func lookupLong(name string) (*option, error) {
	var found []*option
	for i := range optionTable {
		switch {
		case optionTable[i].long == name:
			return &optionTable[i], nil
		case name != "" && strings.HasPrefix(optionTable[i].long, name):
			found = append(found, &optionTable[i])
		}
	}
	switch len(found) {
	case 0:
		return nil, errUsage{fmt.Sprintf("unrecognized option '--%s'", name)}
	case 1:
		return found[0], nil
	}
	return nil, errUsage{fmt.Sprintf("option '--%s' is ambiguous", name)}
}

// signums are keepalived 2.2.7's --signum answers (Linux numbers;
// STATS_CLEAR and JSON are real-time signals).
var signums = map[string]int{
	"STOP": 15, "RELOAD": 1, "DATA": 10, "STATS": 12, "STATS_CLEAR": 63, "JSON": 36,
}

// version is what -v prints.
const version = "lvsrouter (lvskit), keepalived 2.2.7 compatible"

// usage writes --help: every option, keepalived's first.
func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: lvsrouter [OPTION...]")
	for _, o := range optionTable {
		s := "    "
		if o.short != 0 {
			s = "-" + string(o.short) + ", "
		}
		s += "--" + o.long
		switch o.kind {
		case optRequired:
			s += "=" + o.argName
		case optOptional:
			s += "[=" + o.argName + "]"
		}
		help := o.help
		if o.refuse != "" {
			help = "not supported: " + o.refuse
		}
		if len(s) < 30 {
			fmt.Fprintf(w, "  %-30s %s\n", s, help)
		} else {
			fmt.Fprintf(w, "  %s\n  %-30s %s\n", s, "", help)
		}
	}
}

// earlyExit handles the options that answer and exit (-h, -v, --signum):
// done is true when run must return code.
func earlyExit(o *options, stdout, stderr io.Writer) (code int, done bool) {
	switch {
	case o.Help:
		usage(stdout)
		return exitOK, true
	case o.Version:
		fmt.Fprintln(stdout, version)
		return exitOK, true
	case o.Keywords:
		if err := writeKeywords(stdout); err != nil {
			fmt.Fprintf(stderr, "lvsrouter: %v\n", err)
			return exitFailure, true
		}
		return exitOK, true
	case o.Signum != "":
		n, ok := signums[o.Signum]
		if !ok {
			fmt.Fprintf(stderr, "Unknown sigfunc %s\n", o.Signum)
			return exitFailure, true
		}
		fmt.Fprintln(stdout, n)
		return exitOK, true
	}
	return 0, false
}

// configID is the -i value, keepalived's default being the short node
// name (configid.go).
func (o *options) configID() string {
	if o.ConfigIDSet {
		return o.ConfigID
	}
	return defaultConfigID()
}

// restrict keeps the part of a plan that the mode runs: -P drops the
// virtual services (so no IPVS socket and no check), -C the VRRP
// instances and sync groups (so no address is touched).
func (m Mode) restrict(p *Plan) *Plan {
	if p == nil || m == ModeAll {
		return p
	}
	q := *p
	q.LVS = q.LVS.forMode(m)
	switch m {
	case ModeVRRP:
		q.Services = nil
	case ModeCheck:
		q.Instances, q.SyncGroups = nil, nil
	}
	return &q
}

// loadConfig is how load reads configuration files: the -i config id
// (keepalived's default, the short node name, when not given).
var loadConfig = &keepalivedconf.ParseConfig{}

// setup applies the options that change the process: -u, -m and -i.
func setup(o *options) {
	if o.Umask >= 0 {
		setUmask(o.Umask)
	}
	if o.CoreDump {
		enableCoreDump()
	}
	loadConfig = &keepalivedconf.ParseConfig{ConfigID: o.configID()}
	bgpFile = o.BGPFile
}

// testLog is where -t writes its report: stderr, or -t=LOG_FILE.
func testLog(o *options, stderr io.Writer) (io.Writer, func(), error) {
	if o.TestLog == "" {
		return stderr, func() {}, nil
	}
	f, err := os.OpenFile(o.TestLog, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("-t: %w", err)
	}
	return f, func() { f.Close() }, nil
}

// pidFiles are the pid files a start writes: keepalived's main one, and
// that of each subsystem the mode runs (lvsrouter's one process stands
// for keepalived's parent and children, so signalling any of them works).
func (o *options) pidFiles() []string {
	files := []string{cmp.Or(o.PidFile, defaultPidFile)}
	if o.Mode != ModeCheck {
		files = append(files, cmp.Or(o.VRRPPidFile, defaultVRRPPidFile))
	}
	if o.Mode != ModeVRRP {
		files = append(files, cmp.Or(o.CheckPidFile, defaultCheckPidFile))
	}
	return files
}

// writePidFiles writes the pid files; the cleanup removes those that
// still hold this process's ID.
func writePidFiles(o *options) (func(), error) {
	pid := fmt.Sprintf("%d\n", os.Getpid())
	var written []string
	cleanup := func() {
		for _, f := range written {
			if b, err := os.ReadFile(f); err == nil && string(b) == pid {
				os.Remove(f)
			}
		}
	}
	for _, f := range o.pidFiles() {
		if err := os.WriteFile(f, []byte(pid), 0o644); err != nil {
			cleanup()
			return nil, fmt.Errorf("pid file: %w", err)
		}
		written = append(written, f)
	}
	return cleanup, nil
}

// dumpConf logs the plan as JSON (-d, keepalived's --dump-conf).
func dumpConf(o *options, p *Plan, log *slog.Logger) {
	if !o.DumpConf {
		return
	}
	b, err := json.Marshal(p)
	if err != nil {
		log.Error("dump-conf", "err", err)
		return
	}
	log.Info("configuration", "plan", string(b))
}

// newLogger builds the log: syslog by default as keepalived (facility
// daemon, or -S), the console (stderr) with -l, both with -l unless -G,
// nothing with -G alone.
func newLogger(o *options, stderr io.Writer) (*slog.Logger, func()) {
	opts := &slog.HandlerOptions{Level: o.Level}
	var handlers []slog.Handler
	closeAll := func() {}
	if o.Console {
		handlers = append(handlers, slog.NewTextHandler(stderr, opts))
	}
	if !o.NoSyslog {
		fac, _ := facility(o.Facility)
		h, closeSys, err := newSyslogHandler(fac, opts)
		if err != nil {
			if !o.Console {
				handlers = append(handlers, slog.NewTextHandler(stderr, opts))
			}
			l := slog.New(multiHandler(handlers))
			l.Warn("syslog unavailable; logging to the console", "err", err)
			return l, closeAll
		}
		handlers = append(handlers, h)
		closeAll = closeSys
	}
	return slog.New(multiHandler(handlers)), closeAll
}

// multiHandler sends each record to every handler.
type multiHandler []slog.Handler

func (m multiHandler) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range m {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (m multiHandler) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range m {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (m multiHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(multiHandler, len(m))
	for i, h := range m {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (m multiHandler) WithGroup(name string) slog.Handler {
	out := make(multiHandler, len(m))
	for i, h := range m {
		out[i] = h.WithGroup(name)
	}
	return out
}

// facility reads -S: 0-7 or local0-local7 (LOG_LOCALn), user, daemon.
func facility(s string) (int, error) {
	const user, daemon, local0 = 1 << 3, 3 << 3, 16 << 3
	switch s = strings.ToLower(s); {
	case s == "" || s == "daemon":
		return daemon, nil
	case s == "user":
		return user, nil
	case len(s) == 1 && s[0] >= '0' && s[0] <= '7':
		return local0 + int(s[0]-'0')<<3, nil
	case len(s) == 6 && strings.HasPrefix(s, "local") && s[5] >= '0' && s[5] <= '7':
		return local0 + int(s[5]-'0')<<3, nil
	}
	return 0, fmt.Errorf("invalid syslog facility %q", s)
}

func setTracebackCrash() { debug.SetTraceback("crash") }
