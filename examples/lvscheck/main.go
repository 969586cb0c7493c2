// Command lvscheck runs lvskit health checks from the command line: once
// (exit status 0 when every target is up) or continuously under a
// keepalived or HAProxy policy, printing each transition.
//
//	lvscheck [flags] TARGET...
//
// A TARGET is a URL naming the checker:
//
//	tcp://127.0.0.1:80
//	http://127.0.0.1:80/health?host=www.example.com&status=200-299,302&digest=MD5HEX
//	https://127.0.0.1:443/?sni=www.example.com&verify=1
//	smtp://127.0.0.1:25?helo=lb1.example.com
//	dns://127.0.0.1:53/www.example.com?type=A
//	udp://127.0.0.1:53?payload=ping&reply=1
//	icmp://127.0.0.1
//	agent://127.0.0.1:9999
//	exec:///usr/local/bin/check-db?arg=primary&dynamic=1
//	file:///run/weight?weight=10
//
// With -watch it monitors the targets until interrupted: -policy haproxy
// (-inter, -rise, -fall) or keepalived (-inter as delay_loop, -retry,
// -delay-before-retry).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/lvskit/lvskit/check"
	"golang.org/x/net/dns/dnsmessage"
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
	watch := fs.Bool("watch", false, "monitor until interrupted, printing transitions")
	policy := fs.String("policy", "haproxy", "watch policy: haproxy or keepalived")
	inter := fs.Duration("inter", time.Second, "check interval (inter / delay_loop)")
	rise := fs.Int("rise", 2, "haproxy: successes to come up")
	fall := fs.Int("fall", 3, "haproxy: failures to go down")
	retry := fs.Int("retry", 1, "keepalived: retries before down")
	dbr := fs.Duration("delay-before-retry", time.Second, "keepalived: delay between retries")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: lvscheck [flags] TARGET...")
		fs.PrintDefaults()
		return 2
	}
	var targets []check.Target
	for _, a := range fs.Args() {
		c, err := parseTarget(a, *timeout)
		if err != nil {
			fmt.Fprintln(stderr, "lvscheck:", err)
			return 2
		}
		targets = append(targets, check.Target{ID: a, Checker: c})
	}
	if !*watch {
		status := 0
		for _, t := range targets {
			r := t.Checker.Check(ctx)
			fmt.Fprintln(stdout, describe(t.ID, r))
			if !r.Up {
				status = 1
			}
		}
		return status
	}
	var pol check.Policy = check.HAProxy{Inter: *inter, Rise: *rise, Fall: *fall}
	switch *policy {
	case "haproxy":
	case "keepalived":
		pol = check.Keepalived{DelayLoop: *inter, Retry: *retry, DelayBeforeRetry: *dbr}
	default:
		fmt.Fprintf(stderr, "lvscheck: unknown policy %q\n", *policy)
		return 2
	}
	trs := make(chan check.Transition, 64)
	m, err := check.NewMonitor(&check.MonitorConfig{OnTransition: func(tr check.Transition) { trs <- tr }})
	if err != nil {
		fmt.Fprintln(stderr, "lvscheck:", err)
		return 2
	}
	defer m.Close()
	go m.Run(ctx)
	for _, t := range targets {
		t.Policy = pol
		if err := m.Add(t); err != nil {
			fmt.Fprintln(stderr, "lvscheck:", err)
			return 2
		}
	}
	for {
		select {
		case <-ctx.Done():
			return 0
		case tr := <-trs:
			state := "DOWN"
			if tr.Up {
				state = "UP"
			}
			fmt.Fprintf(stdout, "%s %s %s: %s\n", tr.At.Format(time.RFC3339Nano), tr.ID, state, tr.Reason)
		}
	}
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

// parseTarget turns a target URL into a checker.
func parseTarget(s string, timeout time.Duration) (check.Checker, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", s, err)
	}
	q := u.Query()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("target %q: %s", s, fmt.Sprintf(format, args...))
	}
	addr := func(defPort uint16) (netip.AddrPort, error) {
		host, port := u.Hostname(), u.Port()
		a, err := netip.ParseAddr(host)
		if err != nil {
			return netip.AddrPort{}, bad("host must be an IP address")
		}
		p := defPort
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
	switch u.Scheme {
	case "tcp":
		a, err := addr(0)
		return check.TCP{Addr: a, Timeout: timeout}, err
	case "http", "https":
		def := uint16(80)
		if u.Scheme == "https" {
			def = 443
		}
		a, err := addr(def)
		if err != nil {
			return nil, err
		}
		h := &check.HTTP{Addr: a, Path: u.EscapedPath(), Host: q.Get("host"), TLS: u.Scheme == "https",
			ServerName: q.Get("sni"), Verify: q.Get("verify") == "1", Digest: q.Get("digest"), Timeout: timeout}
		if sc := q.Get("status"); sc != "" {
			if h.Status, err = check.ParseStatusCodes(sc); err != nil {
				return nil, bad("%v", err)
			}
		}
		return h, nil
	case "smtp":
		a, err := addr(25)
		return check.SMTP{Addr: a, HeloName: q.Get("helo"), Timeout: timeout}, err
	case "dns":
		a, err := addr(53)
		if err != nil {
			return nil, err
		}
		d := check.DNS{Addr: a, Name: strings.TrimPrefix(u.Path, "/"), Timeout: timeout}
		if t := q.Get("type"); t != "" {
			typ, ok := dnsTypes[strings.ToUpper(t)]
			if !ok {
				return nil, bad("unknown query type %q", t)
			}
			d.Type = typ
		}
		return d, nil
	case "udp":
		a, err := addr(0)
		return check.UDP{Addr: a, Payload: []byte(q.Get("payload")), RequireReply: q.Get("reply") == "1", Timeout: timeout}, err
	case "icmp":
		a, err := netip.ParseAddr(u.Hostname())
		if err != nil {
			return nil, bad("host must be an IP address")
		}
		return check.ICMP{Addr: a, Timeout: timeout}, nil
	case "agent":
		a, err := addr(0)
		return check.Agent{Addr: a, Send: q.Get("send"), Timeout: timeout}, err
	case "exec":
		if u.Path == "" {
			return nil, bad("program path needed")
		}
		return check.Exec{Path: u.Path, Args: q["arg"], Dynamic: q.Get("dynamic") == "1", User: q.Get("user"), Timeout: timeout}, nil
	case "file":
		w := 0
		if v := q.Get("weight"); v != "" {
			if w, err = strconv.Atoi(v); err != nil {
				return nil, bad("bad weight %q", v)
			}
		}
		return check.File{Path: u.Path, Weight: w, Reverse: q.Get("reverse") == "1"}, nil
	}
	return nil, bad("unknown scheme %q", u.Scheme)
}

var dnsTypes = map[string]dnsmessage.Type{
	"A": dnsmessage.TypeA, "AAAA": dnsmessage.TypeAAAA, "NS": dnsmessage.TypeNS, "SOA": dnsmessage.TypeSOA,
	"MX": dnsmessage.TypeMX, "TXT": dnsmessage.TypeTXT, "CNAME": dnsmessage.TypeCNAME, "PTR": dnsmessage.TypePTR,
	"SRV": dnsmessage.TypeSRV,
}
