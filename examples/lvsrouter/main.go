// Command lvsrouter is a keepalived-compatible load-balancing router built
// from lvskit's packages: it reads keepalived.conf, runs its VRRP instances
// (vrrp), health-checks its real servers (check) and programs the kernel's
// IP Virtual Server (ipvs) to match.
//
//	lvsrouter -f /etc/keepalived/keepalived.conf
//	lvsrouter -t -f keepalived.conf     # check the configuration on this host
//	lvsrouter -json -f keepalived.conf  # print what it would run, as JSON
//
// The configuration is read as keepalived reads it (includes, $DEFINES,
// ~SEQ, @id lines, the config id being -i or the host name up to its first
// dot). Supported: vrrp_instance (VRRPv2/v3, IPv4/IPv6,
// unicast peers, PASS authentication, use_vmac, track_interface,
// track_script, track_file, notify scripts), vrrp_strict (traffic to a
// non-accept master's addresses dropped), vrrp_sync_group, virtual_server
// by address (IPv4/IPv6; TCP, UDP, SCTP; without protocol UDP, as
// keepalived does), by fwmark (family from the real servers) and by
// virtual_server_group (addresses, ranges, fwmarks), lb_kind NAT/DR/TUN,
// persistence_timeout and persistence_granularity, sorry_server, quorum,
// hysteresis, quorum_up and quorum_down, inhibit_on_failure, alpha, omega,
// ha_suspend (checks suspended while none of the service's addresses is
// local, following the kernel's address events; hasuspend.go),
// notify_up and notify_down, script_user and enable_script_security, and
// the checkers TCP_CHECK, HTTP_GET and SSL_GET (every url must pass),
// DNS_CHECK, SMTP_CHECK, UDP_CHECK, PING_CHECK, MISC_CHECK and FILE_CHECK.
// Every keyword keepalived 2.2.7 knows is either implemented or refused,
// never accepted without effect: keywords.go is the one table of them
// (lvsrouter --keywords prints it; KEYWORDS.md is that output), and a
// refused keyword (mail alerts, SNMP, DBus, process tuning, and whatever
// lvsrouter does not implement yet) fails -t, start and reload with its
// file:line:col and "not supported by lvsrouter". AH authentication is
// refused too. Keywords keepalived does not know are warnings, as in
// keepalived.
// keepalived's gratuitous ARP pacing (vrrp_garp_*, garp_*, garp_group,
// garp_extra_if), vrrp_startup_delay, vrrp_lower_prio_no_advert and
// vrrp_higher_prio_send_advert, vrrp_track_process, sync group notify
// scripts and smtp_alert mail (instances, sync groups, real servers,
// virtual servers' quorum) act as in keepalived (plan_vrrpbeh.go,
// plan_kw3.go, syncnotify.go, mail.go).
//
// One check decides whether a configuration is good, for -t, start and
// reload alike: it reads, expands and translates, then checks the result
// against this host (every interface it names exists: keepalived's
// "Non-existent interface specified in configuration") and against every
// package (vrrp, ipvs, check). Errors fail; warnings never block start or
// reload, and lint findings never fail -t. Exit codes are keepalived
// 2.2.7's: -t exits 0, 5 on errors and on warnings keepalived reports, 6
// when scripts would run without enable_script_security; a start whose
// configuration fails exits 2 (6 when the file is missing); other
// failures exit 1. (keepalived -t exits 0 on a missing file; lvsrouter -t
// exits 5.)
//
// Scripts (notify, quorum, track, MISC_CHECK) run without a shell through
// one runner, internal/proc: in a process group of their own, killed whole
// on timeout, with their output capped; as script_user when set; and under
// enable_script_security a script that would run as root while a non-root
// user could change it is refused and logged, never run, as keepalived
// disables it. (keepalived 2.2.7 kills itself on `script_user nobody`;
// lvsrouter runs the scripts as nobody.) A server's notify script runs
// before the quorum script its change causes, one script at a time.
//
// SIGHUP reloads the configuration; the handler is in place before the
// first load, so a SIGHUP during start is applied once started. A
// configuration that fails the check is reported and the running one is
// kept exactly as it was. Otherwise VRRP units (a sync group, or a lone
// instance) whose configuration is unchanged keep running untouched,
// changed ones restart, checks keep their state unless they changed, and
// IPVS gets the minimal set of operations (never a flush). A reload whose
// only change lies in one virtual_server block (by address or fwmark,
// the same service, no include, $definition, ~SEQ or @id in the file)
// re-reads that block alone, with the same checks and errors as a full
// read (reload_inc.go); the log line "reload" says which path it took
// (path=incremental block=FILE:LINE, or path=full reason=...). From the
// signal to the kernel change the reload runs ahead of the checks (an OS
// thread at a higher priority) and holds the router's log lines back:
// they are written after it, in order, with the times they were logged;
// with -D a "reload timeline" line says when each step ended
// (reload_trace.go). SIGTERM or
// SIGINT stop the router: masters resign (priority 0) and drop their
// virtual addresses, omega servers run their down scripts, and the IPVS
// services the router made are removed, as keepalived does; with -I
// (--dont-release-ipvs) they stay for the next start to adopt without
// re-creating them.
//
// Scale-out (bgp*.go): with --bgp FILE every director is active and
// announces its VIPs to the upstream router(s) through a GoBGP speaker
// in a process of its own (lvsrouter-bgp, bgp_speaker.go), as the file
// says (local_as, router_id, neighbor blocks with timers and TCP-MD5
// password, announce all or a list, communities, MED, drain_time,
// vip_interface, sloppy_tcp/sloppy_sctp; keepalived.conf stays
// keepalived's). A VIP's /32 or /128 is announced while its virtual
// services have quorum and the checkers run; it is withdrawn before the
// IPVS change a quorum loss causes, when the checkers stop, and on
// SIGTERM before anything else: lvsrouter waits until the withdraw went
// out to every established neighbour (at most withdraw_timeout) and
// drain_time more before VRRP and IPVS state go. A reload that changes
// nothing sends no UPDATE.
//
// In operation (cli.go, dump.go, fifo.go, status.go, metrics.go,
// sdnotify.go; lvsrouter(8) and lvsrouter.service beside this file): the
// command line is keepalived 2.2.7's, every option short and long, each
// accepted with its meaning or refused naming it; -P runs VRRP only (no
// IPVS socket), -C the checkers and IPVS only (no address touched); pid
// files default to keepalived's. SIGUSR1, SIGUSR2 and signal 36 write
// keepalived's /tmp/keepalived.data, .stats and .json; notify_fifo,
// vrrp_notify_fifo and lvs_notify_fifo get keepalived's lines;
// --metrics-addr serves Prometheus metrics under keepalived exporters'
// names; --status-socket answers JSON; systemd's Type=notify is spoken;
// logs go to syslog unless -l.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/lvskit/lvskit/keepalivedconf"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes, keepalived 2.2.7's (measured): -t exits exitConfigTest on
// any error or warning keepalived reports (lint findings never fail it);
// a start whose configuration fails exits exitConfig (keepalived's parent
// when its child stops with a permanent configuration error), or
// exitNoConfig when the configuration file is missing; other failures
// exit 1. keepalived -t exits 0 on a missing -f file (it only prints
// "Config files missing"); lvsrouter -t exits exitConfigTest there.
const (
	exitOK         = 0
	exitFailure    = 1
	exitUsage      = 1
	exitConfig     = 2 // keepalived: "exited with permanent error CONFIG. Terminating"
	exitConfigTest = 5 // KEEPALIVED_EXIT_CONFIG_TEST
	// exitConfigTestSecurity is keepalived -t's exit when scripts would
	// run without enable_script_security ("SECURITY VIOLATION").
	exitConfigTestSecurity = 6
	exitNoConfig           = 6 // keepalived: "Config files missing"
)

func run(args []string, stdout, stderr io.Writer) int {
	// The command line is keepalived's (cli.go).
	o, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "lvsrouter: %v\nTry 'lvsrouter --help' for more information.\n", err)
		return exitUsage
	}
	if code, done := earlyExit(o, stdout, stderr); done {
		return code
	}
	setup(o)
	if o.Test || o.JSON {
		w, closeW, err := testLog(o, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "lvsrouter: %v\n", err)
			return exitFailure
		}
		defer closeW()
		return configTest(o.File, o.Test, o.JSON, stdout, w)
	}
	log, closeLog := newLogger(o, stderr)
	defer closeLog()
	return serve(o, log, stderr)
}

// configTest is lvsrouter -t and -json: the same load as start and reload
// (load), with keepalived -t's exit codes.
func configTest(file string, test, dump bool, stdout, stderr io.Writer) int {
	// -json prints the plan for any host; -t checks it against this one.
	has := interfaceExists
	if !test {
		has = anyInterface
	}
	plan, warnings, err := load(file, has)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "lvsrouter: %v\n", w)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lvsrouter: %v\n", err)
		if test {
			return exitConfigTest
		}
		return exitFailure
	}
	if test && slices.ContainsFunc(warnings, failsTest) {
		if slices.ContainsFunc(warnings, isSecurityViolation) {
			return exitConfigTestSecurity
		}
		return exitConfigTest
	}
	if dump {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(plan); err != nil {
			fmt.Fprintf(stderr, "lvsrouter: %v\n", err)
			return exitFailure
		}
		return exitOK
	}
	fmt.Fprintf(stderr, "lvsrouter: %s: %d VRRP instances, %d virtual services: OK\n", file, len(plan.Instances), len(plan.Services))
	return exitOK
}

// startedHook, when set (by tests only), runs once the first load is
// done: the VM benchmark ends a CPU profile of the start there.
var startedHook func()

// serve runs the router until SIGTERM or SIGINT; SIGHUP reloads.
func serve(o *options, log *slog.Logger, stderr io.Writer) int {
	file := o.File
	// Signals are set up before the first load, which takes seconds on a
	// big configuration: a SIGHUP meanwhile (systemd's reload right after
	// start) must not kill the process. It is queued in hup and applied
	// once the router runs.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// A reload's log lines are written after its kernel change
	// (loghold.go).
	hold := newLogHold(log.Handler())
	log = slog.New(hold)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log.Debug("loading configuration", "config", file)
	t0 := time.Now()
	inc := &incReload{log: log} // reload_inc.go
	gc := beginStart(file)      // startgc.go
	defer gc.end()
	// With -D, the process's memory at the end of each phase of the
	// start (startgc.go's memAttrs): what makes its peak.
	startPhase := func(name string) {
		if log.Enabled(context.Background(), slog.LevelDebug) {
			log.Debug("memory", append([]any{"phase", name}, memAttrs()...)...)
		}
	}
	plan, warnings, how, err := inc.start(file, interfaceExists, gc) // start_read.go
	user, sys := cpuTimes()
	log.Info("configuration read", "config", file, "took", time.Since(t0).Round(time.Microsecond),
		"user", user.Round(time.Millisecond), "sys", sys.Round(time.Millisecond), "read", how, "held_mib", heldMiB())
	startPhase("read")
	for _, w := range warnings {
		log.Warn("configuration", "warning", w)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lvsrouter: %v\n", err)
		if _, serr := os.Stat(file); errors.Is(serr, fs.ErrNotExist) {
			return exitNoConfig
		}
		return exitConfig
	}
	plan.hostChecked = true // by load, on this host: Load need not again
	// The read's garbage is collected here, before the router allocates
	// its state, so that the heap does not grow to twice its size.
	gc.loading()
	startPhase("read collected")
	plan = o.Mode.restrict(plan)
	removePids, err := writePidFiles(o)
	if err != nil {
		fmt.Fprintf(stderr, "lvsrouter: %v\n", err)
		return exitFailure
	}
	defer removePids()
	dumpConf(o, plan, log)
	r, err := NewRouter(ctx, log)
	if err != nil {
		fmt.Fprintf(stderr, "lvsrouter: %v\n", err)
		return exitFailure
	}
	r.KeepIPVS = o.KeepIPVS
	if bgpFile == "" {
		// The plans are inc's, and only r reads them (with a --bgp file
		// the speaker reads them too).
		r.release = inc.release
	}
	defer handleDumpSignals(ctx, r, log)()
	r.phase = func(name string) {
		if name == "kernel applied" {
			gc.applied()
		}
		startPhase(name)
	}
	if err := r.Load(ctx, plan); err != nil {
		fmt.Fprintf(stderr, "lvsrouter: %v\n", err)
		r.close()
		return exitFailure
	}
	r.phase = nil
	gc.end()
	if startedHook != nil {
		startedHook()
	}
	user, sys = cpuTimes()
	_, hwm, _ := procStatusMiB()
	log.Info("started", "config", file, "instances", len(plan.Instances), "services", len(plan.Services),
		"took", time.Since(t0).Round(time.Millisecond), "user", user.Round(time.Millisecond), "sys", sys.Round(time.Millisecond),
		"peak_rss_mib", fmt.Sprintf("%.1f", hwm), "held_mib", heldMiB())
	stopStatus, err := serveStatus(ctx, o.StatusSock, &r.ops, log)
	if err != nil {
		log.Error("status socket", "err", err)
	} else {
		defer stopStatus()
	}
	stopMetrics, err := serveMetrics(ctx, o.MetricsAddr, &r.ops, log)
	if err != nil {
		log.Error("metrics", "err", err)
	} else {
		defer stopMetrics()
	}
	// systemd (Type=notify): READY once running, RELOADING around a
	// reload, STOPPING on the stop signal, and the watchdog (sdnotify.go).
	sdNotify("READY=1")
	defer sdWatchdog()()
	// STOPPING=1 goes as the stop begins, and out before serve returns
	// (the process exits right after: a reload that ended just before
	// the stop leaves Run nothing to finish).
	stopping := make(chan struct{})
	notStopping := context.AfterFunc(ctx, func() { sdNotify("STOPPING=1"); close(stopping) })
	defer func() {
		if !notStopping() {
			<-stopping
		}
	}()
	go func() {
		// A reload's log lines held back are written at the latest when
		// the router stops.
		defer endTrace(log)
		// The first reload's path run once, dry, before any (a SIGHUP
		// meanwhile waits for it).
		inc.warm(interfaceExists)
		for {
			select {
			case <-hup:
			case <-ctx.Done():
				return
			}
			// The reload runs ahead of the checks from here to its
			// kernel change (reload_inc_boost.go): the read and
			// Router.Load on this goroutine. The log lines wait until
			// then, and the trace times each step (reload_trace.go).
			t0 := time.Now()
			restore := boostReload()
			startTrace(t0, hold)
			traceMark("boosted")
			log.Info("reloading", "config", file)
			sdNotify(reloadingMessage())
			p, warnings, err := inc.load(file, interfaceExists)
			traceMark("read-returned")
			log.Info("configuration read", "config", file, "took", time.Since(t0).Round(time.Microsecond))
			for _, w := range warnings {
				log.Warn("configuration", "warning", w)
			}
			if err != nil {
				restore()
				log.Error("reload rejected; keeping the running configuration", "err", err)
				endTrace(log)
				sdNotify("READY=1")
				continue
			}
			p.hostChecked = true
			p = o.Mode.restrict(p)
			traceMark("restricted")
			// The kernel change on this goroutine, still boosted
			// (router.go's Reload).
			err = r.Reload(ctx, p)
			restore()
			if err != nil {
				return // Run has stopped
			}
			sdNotify("READY=1")
		}
	}()
	if err := r.Run(ctx); err != nil {
		log.Error("run", "err", err)
		return exitFailure
	}
	log.Info("stopped")
	return exitOK
}

// failsTest reports whether a warning fails -t: keepalived -t fails on
// what keepalived reports (keepalivedconf's Config.Warnings and Translate's
// Plan.Warnings), not on lint findings.
func failsTest(w error) bool {
	var l lint
	return !errors.As(w, &l)
}

// lint is a finding of keepalivedconf's Lint: reported, never failing.
type lint struct{ error }

func (l lint) Unwrap() error { return l.error }

// isSecurityViolation reports keepalived's "SECURITY VIOLATION - scripts
// are being executed but script_security not enabled".
func isSecurityViolation(w error) bool {
	return strings.Contains(w.Error(), "SECURITY VIOLATION")
}

// load is the one definition of a good configuration, for -t, start and
// reload alike. It reads a configuration file with its includes, expands
// it as keepalived does (definitions, ~SEQ, @id lines), translates it, and
// checks the plan against this host and every package (checkPlan). It
// fails on errors; warnings (unknown keywords, which keepalived also only
// reports) and lint findings come back separately and never block. Every
// diagnostic names file:line:col.
//
// hasInterface tells whether the host has an interface: interfaceExists
// for this host, anyInterface to check a plan for any host.
func load(path string, hasInterface func(string) bool) (*Plan, []error, error) {
	return dedupWarnings(loadPlan(path, hasInterface))
}

// dedupWarnings drops repeated warnings: the same finding can come from
// reading and from expanding.
func dedupWarnings(p *Plan, warnings []error, err error) (*Plan, []error, error) {
	seen := map[string]bool{}
	warnings = slices.DeleteFunc(warnings, func(w error) bool {
		dup := seen[w.Error()]
		seen[w.Error()] = true
		return dup
	})
	return p, warnings, err
}

func loadPlan(path string, hasInterface func(string) bool) (*Plan, []error, error) {
	data, err := loadConfig.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return loadData(path, data, hasInterface)
}

// loadData is loadPlan for the bytes of path, read already.
func loadData(path string, data []byte, hasInterface func(string) bool) (*Plan, []error, error) {
	// ParseData follows includes and expands within keepalivedconf's
	// limits (nesting, size, includes, expansion steps; regular files
	// only); Config decodes the expansion.
	f, err := loadConfig.ParseData(path, data)
	if err != nil {
		return nil, nil, err
	}
	return planOf(f, hasInterface)
}

// planOf translates a file read by ParseData and checks the plan.
func planOf(f *keepalivedconf.File, hasInterface func(string) bool) (*Plan, []error, error) {
	p, warnings, err := translateParsed(f, nil)
	if err != nil {
		return nil, warnings, err
	}
	if err := loadBGP(p); err != nil {
		return nil, warnings, errors.Join(errors.New("configuration rejected"), err)
	}
	for _, w := range p.Warnings {
		warnings = append(warnings, errors.New(w))
	}
	if err := checkPlan(p, hasInterface); err != nil {
		return nil, warnings, errors.Join(errors.New("configuration rejected"), err)
	}
	return p, warnings, nil
}

// translateParsed is planOf's first half: f decoded and translated, with
// the decoder's warnings and lint findings (not yet the plan's own
// warnings, which follow the --bgp file), before the --bgp file and the
// host checks. The plan's services are appended to services.
func translateParsed(f *keepalivedconf.File, services []VirtualService) (*Plan, []error, error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, nil, err
	}
	var warnings []error
	for _, w := range cfg.Warnings {
		warnings = append(warnings, w)
	}
	for _, l := range cfg.Lint() {
		warnings = append(warnings, lint{l})
	}
	p, err := translate(cfg, services)
	if err != nil {
		return nil, warnings, errors.Join(errors.New("configuration rejected"), err)
	}
	return p, warnings, nil
}
