// Command lvscheck runs lvskit health checks from the command line: once
// (exit status 0 when every target is up, 1 when one is down) or
// continuously under a keepalived or HAProxy policy, printing each
// transition. Usage errors exit 2. `lvscheck -h` lists every check kind and
// its parameters.
//
//	lvscheck [flags] TARGET...
//
// A TARGET is a URL naming the checker:
//
//	tcp://127.0.0.1:80
//	http://127.0.0.1:80/health?host=www.example.com&status=200-299,302&digest=MD5HEX&regex=^ok
//	https://127.0.0.1:443/?sni=www.example.com&verify=1
//	smtp://127.0.0.1:25?helo=lb1.example.com
//	dns://127.0.0.1:53/www.example.com?type=A
//	udp://127.0.0.1:53?payload=ping&reply=1
//	icmp://127.0.0.1
//	agent://127.0.0.1:9999
//	exec:///usr/local/bin/check-db?arg=primary&dynamic=1
//	file:///run/weight?weight=10
//
// A parameter the kind does not know, or a value it cannot use, is refused
// with its name: nothing is silently ignored.
//
// With -watch it monitors the targets until interrupted: -policy haproxy
// (-inter, -rise, -fall) or keepalived (-inter as delay_loop, -retry,
// -delay-before-retry), then prints a summary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lvskit/lvskit/check"
	"golang.org/x/net/dns/dnsmessage"
)

// Exit statuses.
const (
	exitUp    = 0 // every target up (or -watch interrupted)
	exitDown  = 1 // a target is down
	exitUsage = 2 // bad flags or targets
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lvscheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 3*time.Second, "timeout of one check")
	watch := fs.Bool("watch", false, "monitor until interrupted, printing transitions and then a summary")
	policy := fs.String("policy", "haproxy", "watch policy: haproxy or keepalived")
	inter := fs.Duration("inter", time.Second, "check interval (inter / delay_loop)")
	rise := fs.Int("rise", 2, "haproxy: successes to come up")
	fall := fs.Int("fall", 3, "haproxy: failures to go down")
	retry := fs.Int("retry", 1, "keepalived: retries before down")
	dbr := fs.Duration("delay-before-retry", time.Second, "keepalived: delay between retries")
	fs.Usage = func() {} // -h prints the full help to stdout below
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout, fs)
			return exitUp
		}
		fmt.Fprintln(stderr, "usage: lvscheck [flags] TARGET... (lvscheck -h explains them)")
		return exitUsage
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "lvscheck: "+format+"\n", a...)
		return exitUsage
	}
	if fs.NArg() == 0 {
		return fail("no TARGET given (lvscheck -h lists them)")
	}
	if *timeout <= 0 {
		return fail("-timeout %v: must be positive", *timeout)
	}
	var targets []check.Target
	for _, a := range fs.Args() {
		c, err := parseTarget(a, *timeout)
		if err != nil {
			return fail("%v", err)
		}
		targets = append(targets, check.Target{ID: a, Checker: c})
	}
	if !*watch {
		up := 0
		for _, t := range targets {
			r := t.Checker.Check(ctx)
			fmt.Fprintln(stdout, describe(t.ID, r))
			if r.Up {
				up++
			}
		}
		fmt.Fprintln(stdout, summary(len(targets), up))
		if up < len(targets) {
			return exitDown
		}
		return exitUp
	}
	var pol check.Policy
	switch *policy {
	case "haproxy":
		if *inter <= 0 || *rise < 1 || *fall < 1 {
			return fail("-inter must be positive and -rise, -fall at least 1")
		}
		pol = check.HAProxy{Inter: *inter, Rise: *rise, Fall: *fall}
	case "keepalived":
		if *inter <= 0 || *retry < 0 || *dbr < 0 {
			return fail("-inter must be positive and -retry, -delay-before-retry not negative")
		}
		pol = check.Keepalived{DelayLoop: *inter, Retry: *retry, DelayBeforeRetry: *dbr}
	default:
		return fail("-policy %q: not supported (haproxy or keepalived)", *policy)
	}
	return watchTargets(ctx, targets, pol, stdout, stderr)
}

// watchTargets runs a Monitor until ctx ends, printing transitions, then a
// summary of the last known states.
func watchTargets(ctx context.Context, targets []check.Target, pol check.Policy, stdout, stderr io.Writer) int {
	trs := make(chan check.Transition, 64)
	m, err := check.NewMonitor(&check.MonitorConfig{OnTransition: func(tr check.Transition) {
		select {
		case trs <- tr:
		case <-ctx.Done():
		}
	}})
	if err != nil {
		fmt.Fprintln(stderr, "lvscheck:", err)
		return exitUsage
	}
	for _, t := range targets {
		t.Policy = pol
		if err := m.Add(t); err != nil {
			m.Close()
			fmt.Fprintln(stderr, "lvscheck:", err)
			return exitUsage
		}
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	for {
		select {
		case <-ctx.Done():
			<-done
			up := 0
			for _, t := range targets {
				if st, ok := m.Stats(t.ID); ok && st.Up {
					up++
				}
			}
			m.Close()
			fmt.Fprintln(stdout, summary(len(targets), up))
			return exitUp
		case tr := <-trs:
			state := "DOWN"
			if tr.Up {
				state = "UP"
			}
			fmt.Fprintf(stdout, "%s %s %s: %s\n", tr.At.Format(time.RFC3339Nano), tr.ID, state, tr.Reason)
		}
	}
}

func summary(n, up int) string {
	noun := "targets"
	if n == 1 {
		noun = "target"
	}
	return fmt.Sprintf("%d %s: %d up, %d down", n, noun, up, n-up)
}

func describe(id string, r check.Result) string {
	if !r.Up {
		return fmt.Sprintf("%s DOWN %v: %s", id, r.Latency.Round(time.Microsecond), r.Reason)
	}
	s := fmt.Sprintf("%s UP %v", id, r.Latency.Round(time.Microsecond))
	if r.Weight.Set {
		s += " weight " + r.Weight.String()
	}
	if r.Admin != check.AdminNone {
		s += " " + r.Admin.String()
	}
	return s
}

// param is a URL parameter a check kind accepts.
type param struct {
	name, help string
	multi      bool // may repeat
}

// kind is a check kind: its URL scheme, what it checks and its parameters.
type kind struct {
	scheme, example, help string
	port                  uint16 // default port; 0: the URL must give one
	path                  string // what the URL path means, or "" if it must be empty
	params                []param
}

var kinds = []kind{
	{scheme: "tcp", example: "tcp://127.0.0.1:80", help: "TCP connect (keepalived TCP_CHECK; half-open, as HAProxy's)"},
	{scheme: "http", example: "http://127.0.0.1/health?status=200-299", help: "HTTP GET (keepalived HTTP_GET)", port: 80, path: "the request path", params: httpParams},
	{scheme: "https", example: "https://127.0.0.1/?sni=www.example.com&verify=1", help: "HTTPS GET (keepalived SSL_GET)", port: 443, path: "the request path",
		params: append(slices.Clone(httpParams),
			param{name: "sni", help: "TLS server name"},
			param{name: "verify", help: "1: verify the server's certificate; 0 (default): do not"})},
	{scheme: "smtp", example: "smtp://127.0.0.1?helo=lb1.example.com", help: "SMTP banner and HELO (keepalived SMTP_CHECK)", port: 25,
		params: []param{{name: "helo", help: "HELO name (default: localhost)"}}},
	{scheme: "dns", example: "dns://127.0.0.1/www.example.com?type=A", help: "DNS query (keepalived DNS_CHECK)", port: 53, path: "the name to query (default: the root)",
		params: []param{{name: "type", help: "query type: A, AAAA, NS, SOA, MX, TXT, CNAME, PTR or SRV (default SOA)"}}},
	{scheme: "udp", example: "udp://127.0.0.1:53?payload=ping&reply=1", help: "UDP datagram (keepalived UDP_CHECK)",
		params: []param{{name: "payload", help: "bytes to send"}, {name: "reply", help: "1: a reply is required; 0 (default): up unless the port is reported unreachable"}}},
	{scheme: "icmp", example: "icmp://127.0.0.1", help: "ICMP echo (keepalived PING_CHECK)"},
	{scheme: "agent", example: "agent://127.0.0.1:9999?send=hello", help: "HAProxy agent-check",
		params: []param{{name: "send", help: "string sent to the agent first"}}},
	{scheme: "exec", example: "exec:///usr/local/bin/check-db?arg=primary&dynamic=1", help: "run a program (keepalived MISC_CHECK): exit 0 is up", path: "the program (absolute)",
		params: []param{
			{name: "arg", help: "an argument (repeat for more)", multi: true},
			{name: "dynamic", help: "1: misc_dynamic (exit 1 down, 2..255 up with weight status-2)"},
			{name: "user", help: "run as this user (name or uid; needs root)"},
			{name: "group", help: "run as this group (name or gid; default: the user's)"},
			{name: "secure", help: "1: refuse a script writable by non-root users when run as root (enable_script_security)"},
		}},
	{scheme: "file", example: "file:///run/weight?weight=10", help: "read a number from a file (keepalived FILE_CHECK)", path: "the file (absolute)",
		params: []param{{name: "weight", help: "multiply the number by this"}, {name: "reverse", help: "1: negate the result"}}},
}

var httpParams = []param{
	{name: "host", help: "Host header (default: the address)"},
	{name: "status", help: "accepted status codes, e.g. 200-299,302 (default 200-299)"},
	{name: "digest", help: "MD5 of the body, as genhash prints it"},
	{name: "regex", help: "regular expression (Go syntax) the body must match"},
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `usage: lvscheck [flags] TARGET...

Checks each TARGET once and prints UP or DOWN with the reason, then a
summary; exits 0 when every target is up, 1 when one is down, 2 on a usage
error. With -watch, monitors the targets until interrupted.

Flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprint(w, "\nTargets (URLs; the host is an IP address):\n")
	for _, k := range kinds {
		fmt.Fprintf(w, "\n  %s://  %s\n      e.g. %s\n", k.scheme, k.help, k.example)
		if k.port != 0 {
			fmt.Fprintf(w, "      port: default %d\n", k.port)
		} else if k.scheme != "exec" && k.scheme != "file" && k.scheme != "icmp" {
			fmt.Fprintf(w, "      port: required\n")
		}
		if k.path != "" {
			fmt.Fprintf(w, "      path: %s\n", k.path)
		}
		for _, p := range k.params {
			fmt.Fprintf(w, "      %-8s %s\n", p.name, p.help)
		}
	}
	fmt.Fprint(w, "\nAny other parameter is refused as not supported.\n")
}

// parseTarget turns a target URL into a checker, refusing what it would
// not use.
func parseTarget(s string, timeout time.Duration) (check.Checker, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", s, err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("target %q: %s", s, fmt.Sprintf(format, args...))
	}
	i := slices.IndexFunc(kinds, func(k kind) bool { return k.scheme == u.Scheme })
	if i < 0 {
		return nil, bad("kind %q not supported (lvscheck -h lists them)", u.Scheme)
	}
	k := kinds[i]
	if u.User != nil {
		return nil, bad("user information not supported")
	}
	if u.Fragment != "" {
		return nil, bad("fragment %q not supported", u.Fragment)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, bad("query: %v", err)
	}
	for name, vs := range q {
		j := slices.IndexFunc(k.params, func(p param) bool { return p.name == name })
		if j < 0 {
			return nil, bad("parameter %q not supported for %s (lvscheck -h lists them)", name, k.scheme)
		}
		if len(vs) > 1 && !k.params[j].multi {
			return nil, bad("parameter %q given %d times", name, len(vs))
		}
	}
	flag := func(name string) (bool, error) {
		switch v := q.Get(name); v {
		case "", "0":
			return false, nil
		case "1":
			return true, nil
		default:
			return false, bad("parameter %s=%q: want 0 or 1", name, v)
		}
	}
	if k.path == "" && u.Path != "" && u.Path != "/" {
		return nil, bad("path %q not supported for %s", u.Path, k.scheme)
	}
	addr := func() (netip.AddrPort, error) {
		host, port := u.Hostname(), u.Port()
		a, err := netip.ParseAddr(host)
		if err != nil {
			return netip.AddrPort{}, bad("host must be an IP address")
		}
		p := k.port
		if port != "" {
			n, err := strconv.ParseUint(port, 10, 16)
			if err != nil {
				return netip.AddrPort{}, bad("bad port %q", port)
			}
			p = uint16(n)
		}
		if p == 0 {
			return netip.AddrPort{}, bad("port needed")
		}
		return netip.AddrPortFrom(a, p), nil
	}
	switch k.scheme {
	case "tcp":
		a, err := addr()
		if err != nil {
			return nil, err
		}
		return check.TCP{Addr: a, Timeout: timeout}, nil
	case "http", "https":
		a, err := addr()
		if err != nil {
			return nil, err
		}
		verify, err := flag("verify")
		if err != nil {
			return nil, err
		}
		h := &check.HTTP{Addr: a, Path: u.EscapedPath(), Host: q.Get("host"), TLS: k.scheme == "https",
			ServerName: q.Get("sni"), Verify: verify, Digest: strings.ToLower(q.Get("digest")), Timeout: timeout}
		if h.Digest != "" && !isMD5(h.Digest) {
			return nil, bad("parameter digest=%q: want 32 hexadecimal digits", h.Digest)
		}
		if sc := q.Get("status"); sc != "" {
			if h.Status, err = check.ParseStatusCodes(sc); err != nil {
				return nil, bad("parameter status: %v", err)
			}
		}
		if re := q.Get("regex"); q.Has("regex") {
			if re == "" {
				return nil, bad("parameter regex is empty")
			}
			if h.Regex, err = regexp.Compile(re); err != nil {
				return nil, bad("parameter regex: %v", err)
			}
		}
		return h, nil
	case "smtp":
		a, err := addr()
		if err != nil {
			return nil, err
		}
		return check.SMTP{Addr: a, HeloName: q.Get("helo"), Timeout: timeout}, nil
	case "dns":
		a, err := addr()
		if err != nil {
			return nil, err
		}
		d := check.DNS{Addr: a, Name: strings.TrimPrefix(u.Path, "/"), Timeout: timeout}
		if t := q.Get("type"); t != "" {
			typ, ok := dnsTypes[strings.ToUpper(t)]
			if !ok {
				return nil, bad("parameter type=%q not supported", t)
			}
			d.Type = typ
		}
		return d, nil
	case "udp":
		a, err := addr()
		if err != nil {
			return nil, err
		}
		reply, err := flag("reply")
		if err != nil {
			return nil, err
		}
		return check.UDP{Addr: a, Payload: []byte(q.Get("payload")), RequireReply: reply, Timeout: timeout}, nil
	case "icmp":
		if u.Port() != "" {
			return nil, bad("port not supported for icmp")
		}
		a, err := netip.ParseAddr(u.Hostname())
		if err != nil {
			return nil, bad("host must be an IP address")
		}
		return check.ICMP{Addr: a, Timeout: timeout}, nil
	case "agent":
		a, err := addr()
		if err != nil {
			return nil, err
		}
		return check.Agent{Addr: a, Send: q.Get("send"), Timeout: timeout}, nil
	case "exec":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return nil, bad("want exec:///absolute/path")
		}
		dynamic, err := flag("dynamic")
		if err != nil {
			return nil, err
		}
		secure, err := flag("secure")
		if err != nil {
			return nil, err
		}
		return check.Exec{Path: u.Path, Args: q["arg"], Dynamic: dynamic, User: q.Get("user"), Group: q.Get("group"),
			ScriptSecurity: secure, Timeout: timeout}, nil
	case "file":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return nil, bad("want file:///absolute/path")
		}
		w := 0
		if v := q.Get("weight"); v != "" {
			if w, err = strconv.Atoi(v); err != nil {
				return nil, bad("parameter weight=%q: want an integer", v)
			}
		}
		reverse, err := flag("reverse")
		if err != nil {
			return nil, err
		}
		return check.File{Path: u.Path, Weight: w, Reverse: reverse}, nil
	}
	return nil, bad("kind %q not supported", u.Scheme)
}

func isMD5(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

var dnsTypes = map[string]dnsmessage.Type{
	"A": dnsmessage.TypeA, "AAAA": dnsmessage.TypeAAAA, "NS": dnsmessage.TypeNS, "SOA": dnsmessage.TypeSOA,
	"MX": dnsmessage.TypeMX, "TXT": dnsmessage.TypeTXT, "CNAME": dnsmessage.TypeCNAME, "PTR": dnsmessage.TypePTR,
	"SRV": dnsmessage.TypeSRV,
}
