package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// keepalived's dump signals on Linux (keepalived --signum): DATA is
// SIGUSR1, STATS SIGUSR2, STATS_CLEAR SIGRTMIN+29 (63) and JSON SIGRTMIN+2
// (36).
const (
	sigData       = syscall.SIGUSR1
	sigStats      = syscall.SIGUSR2
	sigStatsClear = syscall.Signal(63)
	sigJSON       = syscall.Signal(36)
)

// handleDumpSignals writes keepalived's state dumps on its signals until
// ctx ends: DATA -> /tmp/keepalived.data, STATS -> /tmp/keepalived.stats,
// STATS_CLEAR -> the stats file, then the counters restart from 0, JSON
// -> /tmp/keepalived.json.
func handleDumpSignals(ctx context.Context, r *Router, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, sigData, sigStats, sigStatsClear, sigJSON)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-ch:
				dumpOn(r, s, log)
			}
		}
	}()
	return func() { signal.Stop(ch); cancel(); <-done }
}

func dumpOn(r *Router, s os.Signal, log *slog.Logger) {
	var name string
	var data []byte
	switch s {
	case sigData:
		name, data = "keepalived.data", r.dataText()
		r.writeOtherData(log)
	case sigStats, sigStatsClear:
		name, data = "keepalived.stats", r.ops.statsText()
		if s == sigStatsClear {
			r.ops.clearStats()
		}
	case sigJSON:
		name, data = "keepalived.json", r.ops.jsonDump()
	default:
		return
	}
	if err := writeDump(name, data); err != nil {
		log.Warn("state dump", "file", name, "err", err)
	}
}
