// Command haproxypair is one node of the seed's second architecture
// (Appendix A): two HAProxy nodes share a virtual IP address with VRRP,
// and HAProxy balances the requests over the backend servers.
//
// Where the seed pairs keepalived with `killall -0 haproxy`, haproxypair
// does the same in one process with lvskit's packages:
//
//   - it writes haproxy.cfg through the haproxy package's typed model
//     (global with syslog logging and a stats socket, defaults, the seed's
//     frontends on -http and on the VIP's -https-port with "ssl crt", and
//     backend rgw with "check" on every server), checks it with haproxy -c,
//     starts haproxy in master-worker mode and reloads it on SIGHUP;
//   - it runs the VRRP instance with the vrrp package;
//   - it tracks haproxy through its runtime API ("show info", the
//     backend's server states) every -track-interval, with -track-rise and
//     -track-fall, and applies -weight as keepalived applies a vrrp_script
//     weight: added while healthy when positive, subtracted while unhealthy
//     when negative, a fault when 0. Unhealthy means haproxy does not
//     answer or fewer than -min-servers servers are UP. A haproxy that
//     exits faults the instance at once: the master resigns and the peer
//     takes over after its skew time. Both results reach the VRRP
//     instance through vrrp.TrackFile (files in -dir, read every 10 to
//     100 ms), keepalived's track_file semantics;
//   - on SIGTERM it drains without failing a request (a planned
//     failover): new connections to the VIP are held off by dropping their
//     SYNs in an nftables table of its own (fwmark.SYNDrop), so the clients
//     retransmit them instead of seeing a refusal; handshakes already begun
//     are let finish; haproxy soft-stops (it closes its listeners and idle
//     keep-alive connections, finishes the requests in flight, and is
//     killed after -drain-timeout); only then is the VIP released with a
//     priority 0 advert, and the retransmitted SYNs reach the peer once it
//     took over (after its skew time). The VIP has to stay until the last
//     request ended: after the peer's gratuitous ARP, the client's packets
//     of an open connection reach the peer, which resets it. New
//     connections wait for the next SYN retransmission after the takeover
//     (1 s when the drain is short). The SYN drop is removed on exit, and
//     at start when a crashed run left it. SIGINT stops at once.
//
// -print-keepalived prints the equivalent keepalived.conf and haproxy.cfg
// pair for users who keep keepalived; the keepalived side's vrrp_script
// runs `haproxypair -check`, the same runtime API probe, once, and a
// second, weight-0 script faults when the runtime API does not answer. A
// third file, drain.sh, is the planned failover for that pair (the same
// SYN drop through nft, haproxy's soft stop, then keepalived's stop), and
// keepalived's notify_master removes a SYN drop a killed drain.sh left.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/lvskit/lvskit/haproxy"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// mode is what the command line asks for besides running a node.
type mode struct{ printKeepalived, check bool }

func parseFlags(args []string, stderr io.Writer) (*options, mode, error) {
	fs := flag.NewFlagSet("haproxypair", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.StringVar(&o.Dir, "dir", "/run/haproxypair", "run directory: haproxy.cfg, the stats socket, the pid and track files")
	fs.StringVar(&o.HAProxy, "haproxy", "haproxy", "haproxy binary")
	fs.StringVar(&o.Interface, "interface", "eth0", "VRRP interface")
	vrid := fs.Uint("vrid", 51, "virtual_router_id")
	prio := fs.Uint("priority", 100, "VRRP priority (the seed: 101 on haproxy, 100 on haproxy2)")
	version := fs.Uint("vrrp-version", 0, "VRRP version 2 or 3 (0: 2, keepalived's default)")
	fs.DurationVar(&o.Advert, "advert", time.Second, "advertisement interval")
	vip := fs.String("vip", "", "virtual IP address, ADDR or ADDR/LEN (the seed: 192.168.0.100)")
	fs.DurationVar(&o.TrackInterval, "track-interval", 2*time.Second, "how often haproxy's runtime API is probed (the seed's script interval)")
	fs.IntVar(&o.TrackRise, "track-rise", 1, "healthy probes in a row to count as healthy")
	fs.IntVar(&o.TrackFall, "track-fall", 1, "failed probes in a row to count as unhealthy")
	fs.IntVar(&o.Weight, "weight", 2, "priority change: added while healthy if > 0, subtracted while unhealthy if < 0, fault while unhealthy if 0")
	fs.IntVar(&o.MinServers, "min-servers", 1, "fewest UP servers for haproxy to count as healthy")
	fs.StringVar(&o.HTTPBind, "http", "*:80", "bind address of frontend http_web")
	httpsPort := fs.Uint("https-port", 443, "port of frontend rgw-https on the VIP")
	fs.StringVar(&o.Cert, "cert", "", "PEM file with certificate and key for frontend rgw-https (empty: no HTTPS frontend)")
	balance := fs.String("balance", "roundrobin", "balance algorithm with its options (\"uri whole\", \"source\"...)")
	fs.StringVar(&o.HashType, "hash-type", "", "hash-type of the backend (\"consistent djb2\"...)")
	var servers, backups listFlag
	fs.Var(&servers, "server", "backend server name=ip:port[@weight] (repeat)")
	fs.Var(&backups, "backup-server", "backup server name=ip:port[@weight] (repeat)")
	fs.DurationVar(&o.CheckInter, "check-inter", 0, "health check interval of the servers (0: HAProxy's 2s)")
	fs.IntVar(&o.CheckRise, "check-rise", 0, "health check rise (0: HAProxy's 2)")
	fs.IntVar(&o.CheckFall, "check-fall", 0, "health check fall (0: HAProxy's 3)")
	fs.StringVar(&o.LogTarget, "log", "/dev/log", "syslog target of HAProxy's logs (empty: none)")
	fs.IntVar(&o.NbThread, "nbthread", 0, "HAProxy threads (0: HAProxy's default)")
	fs.DurationVar(&o.DrainTimeout, "drain-timeout", 30*time.Second, "on SIGTERM, bound on waiting for in-flight requests (new connections wait meanwhile) before haproxy is killed and the VIP released")
	printKA := fs.Bool("print-keepalived", false, "print the equivalent keepalived.conf and haproxy.cfg and exit")
	check := fs.Bool("check", false, "probe haproxy's runtime API once and exit 0 if healthy (for keepalived's vrrp_script)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return nil, mode{}, err
	}
	if fs.NArg() > 0 {
		return nil, mode{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var errs []error
	if *vrid < 1 || *vrid > 255 {
		errs = append(errs, fmt.Errorf("-vrid %d: must be 1..255", *vrid))
	}
	if *prio < 1 || *prio > 255 {
		errs = append(errs, fmt.Errorf("-priority %d: must be 1..255", *prio))
	}
	if *version > 3 || *version == 1 {
		errs = append(errs, fmt.Errorf("-vrrp-version %d: must be 2 or 3", *version))
	}
	if *httpsPort < 1 || *httpsPort > 65535 {
		errs = append(errs, fmt.Errorf("-https-port %d: must be 1..65535", *httpsPort))
	}
	o.VRID, o.Priority, o.Version, o.HTTPSPort = uint8(*vrid), uint8(*prio), uint8(*version), uint16(*httpsPort)
	if *vip != "" {
		p, err := netip.ParsePrefix(*vip)
		if err != nil {
			a, aerr := netip.ParseAddr(*vip)
			if aerr != nil {
				errs = append(errs, fmt.Errorf("-vip: %w", err))
			} else {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		o.VIP = p
	}
	b, err := haproxy.ParseBalance(strings.Fields(*balance))
	if err != nil {
		errs = append(errs, fmt.Errorf("-balance: %w", err))
	}
	o.Balance = b
	for _, s := range servers {
		bs, err := parseServer(s, false)
		if err != nil {
			errs = append(errs, fmt.Errorf("-server: %w", err))
		}
		o.Servers = append(o.Servers, bs)
	}
	for _, s := range backups {
		bs, err := parseServer(s, true)
		if err != nil {
			errs = append(errs, fmt.Errorf("-backup-server: %w", err))
		}
		o.Servers = append(o.Servers, bs)
	}
	switch *logLevel {
	case "debug", "info", "warn", "error":
		_ = o.LogLevel.UnmarshalText([]byte(*logLevel))
	default:
		errs = append(errs, fmt.Errorf("-log-level %q: not supported", *logLevel))
	}
	o.Dir = absDir(o.Dir)
	if err := errors.Join(errs...); err != nil {
		return nil, mode{}, err
	}
	m := mode{printKeepalived: *printKA, check: *check}
	if err := o.validate(m.check); err != nil {
		return nil, mode{}, err
	}
	return o, m, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, m, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "haproxypair:", err)
		return 2
	}
	if m.check {
		if err := checkOnce(o); err != nil {
			fmt.Fprintln(stderr, "haproxypair: unhealthy:", err)
			return 1
		}
		return 0
	}
	if m.printKeepalived {
		if err := printPair(o, stdout); err != nil {
			fmt.Fprintln(stderr, "haproxypair:", err)
			return 1
		}
		return 0
	}

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.LogLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sig)
	term, hup := make(chan struct{}), make(chan struct{}, 1)
	go func() {
		for s := range sig {
			if s == syscall.SIGHUP {
				select {
				case hup <- struct{}{}:
				default:
				}
				continue
			}
			close(term)
			return
		}
	}()
	n := &node{o: o, log: log}
	if err := n.run(ctx, term, hup); err != nil {
		log.Error("haproxypair", "err", err)
		return 1
	}
	return 0
}

// checkCommand is the argv keepalived's vrrp_script runs: this program
// with -check and the options the probe needs.
func checkCommand(o *options) []string {
	self, err := os.Executable()
	if err != nil {
		self = "haproxypair"
	}
	return []string{self, "-check", "-dir", o.Dir, "-min-servers", fmt.Sprint(o.MinServers)}
}

// printPair writes the keepalived.conf and haproxy.cfg pair and drain.sh.
func printPair(o *options, w io.Writer) error {
	return writePair(o, checkCommand(o), w)
}

func writePair(o *options, checkCmd []string, w io.Writer) error {
	ka, err := keepalivedConfig(o, checkCmd)
	if err != nil {
		return err
	}
	hc, err := haproxyConfig(o)
	if err != nil {
		return err
	}
	drain, err := drainScript(o)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "# ---- keepalived.conf ----\n%s# ---- haproxy.cfg ----\n%s# ---- drain.sh ----\n%s", ka, hc.Format(), drain)
	return nil
}
