// Command lvsrouter is a keepalived-compatible load-balancing router built
// from lvskit's packages: it reads keepalived.conf, runs its VRRP instances
// (vrrp), health-checks its real servers (check) and programs the kernel's
// IP Virtual Server (ipvs) to match.
//
//	lvsrouter -f /etc/keepalived/keepalived.conf
//	lvsrouter -t -f keepalived.conf     # check the configuration and exit
//
// SIGHUP reloads the configuration: a configuration that fails to read or
// translate is reported and the running one is kept. SIGTERM or SIGINT stop
// the router: masters resign (priority 0) and drop their virtual addresses;
// IPVS services stay for the next start to adopt without a flush.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/lvskit/lvskit/keepalivedconf"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("lvsrouter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "/etc/keepalived/keepalived.conf", "configuration file (keepalived.conf syntax)")
	test := fs.Bool("t", false, "check the configuration and exit (like keepalived -t)")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	pidfile := fs.String("p", "", "write the process ID to this file")
	// keepalived's flags that only concern its process model are accepted
	// so that lvsrouter can replace it in a service file.
	for _, f := range []string{"n", "l", "D", "G", "R", "P", "C"} {
		fs.Bool(f, false, "accepted for keepalived compatibility; no effect")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "lvsrouter: -log-level: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))

	plan, err := load(*file)
	if err != nil {
		fmt.Fprintf(stderr, "lvsrouter: %v\n", err)
		return 1
	}
	if *test {
		fmt.Fprintf(stderr, "lvsrouter: %s: %d VRRP instances, %d virtual services: OK\n", *file, len(plan.Instances), len(plan.Services))
		return 0
	}
	if *pidfile != "" {
		if err := os.WriteFile(*pidfile, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
			fmt.Fprintf(stderr, "lvsrouter: %v\n", err)
			return 1
		}
		defer os.Remove(*pidfile)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	r, err := NewRouter(ctx, log)
	if err != nil {
		fmt.Fprintf(stderr, "lvsrouter: %v\n", err)
		return 1
	}
	if err := r.Load(ctx, plan); err != nil {
		fmt.Fprintf(stderr, "lvsrouter: %v\n", err)
		r.close()
		return 1
	}
	log.Info("started", "config", *file, "instances", len(plan.Instances), "services", len(plan.Services))
	reload := make(chan *Plan)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			p, err := load(*file)
			if err != nil {
				log.Error("reload rejected; keeping the running configuration", "err", err)
				continue
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
		return 1
	}
	log.Info("stopped")
	return 0
}

// load reads, validates and translates a configuration file.
func load(path string) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := keepalivedconf.Parse(path, data)
	if err != nil {
		return nil, err
	}
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	p, err := Translate(cfg)
	if err != nil {
		return nil, errors.Join(errors.New("configuration rejected"), err)
	}
	return p, nil
}
