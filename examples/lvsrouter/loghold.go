package main

import (
	"context"
	"log/slog"
	"sync"
)

// logHold is a slog.Handler that can hold records back: while a reload
// runs from its signal to its kernel change, the lines it and the rest of
// the router log are queued and written after it, in order, with the
// times they were logged. A write to a pipe or to syslog wakes the
// reader, which on a one-CPU host can take the CPU from the reload for a
// time slice, and blocks when the reader is behind.
type logHold struct {
	h slog.Handler
	s *holdState // shared by the handlers WithAttrs and WithGroup derive
}

type holdState struct {
	mu   sync.Mutex
	held bool
	q    []heldRecord
}

type heldRecord struct {
	h   slog.Handler
	ctx context.Context
	r   slog.Record
}

// maxHeld bounds the queue: a full one is written out at once (a full
// read of a large configuration can take seconds while checks log).
const maxHeld = 1024

func newLogHold(h slog.Handler) *logHold { return &logHold{h: h, s: &holdState{}} }

// Enabled is the wrapped handler's.
func (l *logHold) Enabled(ctx context.Context, level slog.Level) bool {
	return l.h.Enabled(ctx, level)
}

// Handle queues r while held, else writes it.
func (l *logHold) Handle(ctx context.Context, r slog.Record) error {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held {
		return l.h.Handle(ctx, r)
	}
	if len(s.q) == maxHeld {
		s.flush()
	}
	s.q = append(s.q, heldRecord{l.h, context.WithoutCancel(ctx), r.Clone()})
	return nil
}

// WithAttrs is the wrapped handler's, sharing the hold.
func (l *logHold) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logHold{h: l.h.WithAttrs(attrs), s: l.s}
}

// WithGroup is the wrapped handler's, sharing the hold.
func (l *logHold) WithGroup(name string) slog.Handler {
	return &logHold{h: l.h.WithGroup(name), s: l.s}
}

// hold queues records until release.
func (l *logHold) hold() {
	l.s.mu.Lock()
	l.s.held = true
	l.s.mu.Unlock()
}

// release writes the queued records and stops holding.
func (l *logHold) release() {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	l.s.held = false
	l.s.flush()
}

// flush writes the queue. s.mu is held.
func (s *holdState) flush() {
	for i, q := range s.q {
		_ = q.h.Handle(q.ctx, q.r)
		s.q[i] = heldRecord{}
	}
	s.q = s.q[:0]
}
