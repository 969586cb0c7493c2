// Command lvsrouter is a keepalived-compatible load-balancing router built
// from lvskit's packages: it reads keepalived.conf, runs its VRRP instances
// (vrrp), health-checks its real servers (check) and programs the kernel's
// IP Virtual Server (ipvs) to match.
//
//	lvsrouter -f /etc/keepalived/keepalived.conf
//	lvsrouter -t -f keepalived.conf     # check the configuration: exit 0 or 5
//	lvsrouter -json -f keepalived.conf  # print what it would run, as JSON
//
// The configuration is read as keepalived reads it (includes, $DEFINES,
// ~SEQ, @id lines). Supported: vrrp_instance (VRRPv2/v3, IPv4/IPv6,
// unicast peers, PASS authentication, track_interface, track_script,
// track_file, notify scripts), vrrp_sync_group, virtual_server by address
// (IPv4/IPv6; TCP, UDP, SCTP; without protocol UDP, as keepalived does),
// by fwmark (family from the real servers) and by virtual_server_group
// (addresses, ranges, fwmarks), lb_kind NAT/DR/TUN, persistence_timeout and
// persistence_granularity, sorry_server, quorum, hysteresis, quorum_up and
// quorum_down, inhibit_on_failure, alpha, omega, notify_up and notify_down,
// and the checkers TCP_CHECK, HTTP_GET and SSL_GET (every url must pass),
// DNS_CHECK, SMTP_CHECK, UDP_CHECK, PING_CHECK, MISC_CHECK and FILE_CHECK.
// Anything else that matters is refused with its file:line:col.
//
// SIGHUP reloads the configuration: one that fails to read or translate is
// reported with file:line:col and the running one is kept. Otherwise VRRP
// units (a sync group, or a lone instance) whose configuration is unchanged
// keep running untouched, changed ones restart, checks keep their state
// unless they changed, and IPVS gets the minimal set of operations (never
// a flush). SIGTERM or SIGINT stop the router: masters resign (priority 0)
// and drop their virtual addresses, omega servers run their down scripts,
// and the IPVS services the router made are removed, as keepalived does;
// with -I (--dont-release-ipvs) they stay for the next start to adopt
// without re-creating them.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/lvskit/lvskit/keepalivedconf"
	"github.com/lvskit/lvskit/vrrp"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes of lvsrouter -t, keepalived's: 0 when the configuration is
// clean, exitConfigTest when it has any diagnostic (keepalived -t fails on
// unknown keywords too). Other failures exit 1, as keepalived does.
const (
	exitOK         = 0
	exitFailure    = 1
	exitUsage      = 1
	exitConfigTest = 5 // KEEPALIVED_EXIT_CONFIG_TEST
)

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lvsrouter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "/etc/keepalived/keepalived.conf", "configuration file (keepalived.conf syntax; includes are followed)")
	test := fs.Bool("t", false, "check the configuration and exit: 0 if clean, 5 on any error or warning (like keepalived -t)")
	dump := fs.Bool("json", false, "print the plan (VRRP instances, IPVS services, checks) as JSON and exit; with -t, only when the configuration is clean")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	pidfile := fs.String("p", "", "write the process ID to this file")
	// keepalived's flags that only concern its process model are accepted
	// so that lvsrouter can replace it in a service file.
	for _, f := range []string{"n", "l", "D", "G", "R", "P", "C"} {
		fs.Bool(f, false, "accepted for keepalived compatibility; no effect")
	}
	var keepIPVS bool
	fs.BoolVar(&keepIPVS, "I", false, "leave the IPVS services in place on stop, for the next start to adopt (keepalived --dont-release-ipvs)")
	fs.BoolVar(&keepIPVS, "dont-release-ipvs", false, "same as -I")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "lvsrouter: -log-level: %v\n", err)
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))

	plan, warnings, err := load(*file)
	if *test || *dump {
		for _, w := range warnings {
			fmt.Fprintf(stderr, "lvsrouter: %v\n", w)
		}
		if err != nil {
			fmt.Fprintf(stderr, "lvsrouter: %v\n", err)
			if *test {
				return exitConfigTest
			}
			return exitFailure
		}
		if *test && slices.ContainsFunc(warnings, failsTest) {
			return exitConfigTest
		}
		if *dump {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(plan); err != nil {
				fmt.Fprintf(stderr, "lvsrouter: %v\n", err)
				return exitFailure
			}
			return exitOK
		}
		fmt.Fprintf(stderr, "lvsrouter: %s: %d VRRP instances, %d virtual services: OK\n", *file, len(plan.Instances), len(plan.Services))
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "lvsrouter: %v\n", err)
		return exitFailure
	}
	for _, w := range warnings {
		log.Warn("configuration", "warning", w)
	}
	if *pidfile != "" {
		if err := os.WriteFile(*pidfile, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
			fmt.Fprintf(stderr, "lvsrouter: %v\n", err)
			return exitFailure
		}
		defer os.Remove(*pidfile)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	r, err := NewRouter(ctx, log)
	if err != nil {
		fmt.Fprintf(stderr, "lvsrouter: %v\n", err)
		return exitFailure
	}
	r.KeepIPVS = keepIPVS
	if err := r.Load(ctx, plan); err != nil {
		fmt.Fprintf(stderr, "lvsrouter: %v\n", err)
		r.close()
		return exitFailure
	}
	log.Info("started", "config", *file, "instances", len(plan.Instances), "services", len(plan.Services))
	reload := make(chan *Plan)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
			case <-ctx.Done():
				return
			}
			p, warnings, err := load(*file)
			if err != nil {
				log.Error("reload rejected; keeping the running configuration", "err", err)
				continue
			}
			for _, w := range warnings {
				log.Warn("configuration", "warning", w)
			}
			select {
			case reload <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	if err := r.Run(ctx, reload); err != nil {
		log.Error("run", "err", err)
		return exitFailure
	}
	log.Info("stopped")
	return exitOK
}

// failsTest reports whether a warning fails -t: keepalived -t fails on
// what keepalived reports. load returns no lint findings (keepalivedconf
// keeps them apart, in Config.Lint), so every warning does.
func failsTest(error) bool { return true }

// load reads a configuration file with its includes, expands it as
// keepalived does (definitions, ~SEQ, @id lines), and translates it. It
// fails on errors; warnings (unknown keywords, which keepalived also only
// reports) come back separately. Every diagnostic names file:line:col.
func load(path string) (*Plan, []error, error) {
	f, err := keepalivedconf.ParseFile(path)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := f.Config()
	if err != nil {
		return nil, nil, err
	}
	var warnings []error
	for _, d := range cfg.Warnings {
		warnings = append(warnings, d)
	}
	p, err := Translate(cfg)
	if err != nil {
		return nil, warnings, errors.Join(errors.New("configuration rejected"), err)
	}
	// What vrrp.Router.Add would refuse at start is refused here, so -t,
	// start and reload agree.
	for _, u := range units(p) {
		if err := vrrp.Validate(u.Instances...); err != nil {
			return nil, warnings, errors.Join(errors.New("configuration rejected"), fmt.Errorf("%s: %w", u.Name, err))
		}
	}
	for _, w := range p.Warnings {
		warnings = append(warnings, errors.New(w))
	}
	return p, warnings, nil
}
