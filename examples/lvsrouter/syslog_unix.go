//go:build !windows && !plan9

package main

import (
	"bytes"
	"context"
	"log/slog"
	"log/syslog"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// syslogHandler writes records to syslog as keepalived does: ident
// "Keepalived", one line per record, the message first so that lines such
// as "(VI_1) Entering MASTER STATE" read as keepalived's.
type syslogHandler struct {
	w    *syslog.Writer
	mu   *sync.Mutex
	buf  *bytes.Buffer
	text slog.Handler
}

// syslogAddr, when set, is the unix datagram socket syslog goes to
// instead of the system's (tests).
var syslogAddr string

func newSyslogHandler(fac int, opts *slog.HandlerOptions) (slog.Handler, func(), error) {
	var w *syslog.Writer
	var err error
	if syslogAddr != "" {
		w, err = syslog.Dial("unixgram", syslogAddr, syslog.Priority(fac)|syslog.LOG_INFO, "Keepalived")
	} else {
		w, err = syslog.New(syslog.Priority(fac)|syslog.LOG_INFO, "Keepalived")
	}
	if err != nil {
		return nil, nil, err
	}
	buf := &bytes.Buffer{}
	o := *opts
	o.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
			return slog.Attr{}
		}
		if len(groups) == 0 && a.Key == slog.MessageKey {
			return slog.Attr{}
		}
		return a
	}
	return &syslogHandler{w: w, mu: &sync.Mutex{}, buf: buf, text: slog.NewTextHandler(buf, &o)}, func() { w.Close() }, nil
}

func (h *syslogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.text.Enabled(ctx, l)
}

func (h *syslogHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
	if err := h.text.Handle(ctx, r); err != nil {
		return err
	}
	line := r.Message
	if attrs := strings.TrimSpace(h.buf.String()); attrs != "" {
		line += " " + attrs
	}
	switch {
	case r.Level >= slog.LevelError:
		return h.w.Err(line)
	case r.Level >= slog.LevelWarn:
		return h.w.Warning(line)
	case r.Level >= slog.LevelInfo:
		return h.w.Info(line)
	}
	return h.w.Debug(line)
}

func (h *syslogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.text = h.text.WithAttrs(as)
	return &c
}

func (h *syslogHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.text = h.text.WithGroup(name)
	return &c
}

func setUmask(m int) { syscall.Umask(m) }

// enableCoreDump lifts the core size limit and makes a fatal error dump
// core (-m).
func enableCoreDump() {
	unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY})
	setTracebackCrash()
}

func umask(m int) int { return syscall.Umask(m) }

// monotonicUsec is CLOCK_MONOTONIC in microseconds.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
		return 0
	}
	return ts.Nano() / 1000
}
