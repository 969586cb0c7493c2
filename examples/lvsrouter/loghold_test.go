package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLogHoldWritesAfterRelease: while held, records are queued, not
// written; release writes them in order with the times they were logged,
// and later records go straight through.
func TestLogHoldWritesAfterRelease(t *testing.T) {
	var out bytes.Buffer
	h := newLogHold(slog.NewTextHandler(&out, nil))
	log := slog.New(h)
	log.Info("before")
	h.hold()
	logged := time.Now()
	log.Info("held one")
	log.With("k", "v").Info("held two")
	if strings.Contains(out.String(), "held") {
		t.Fatalf("held records written before release:\n%s", out.String())
	}
	time.Sleep(20 * time.Millisecond)
	h.release()
	log.Info("after")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want 4:\n%s", len(lines), out.String())
	}
	for i, want := range []string{"msg=before", "msg=\"held one\"", "msg=\"held two\" k=v", "msg=after"} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %q, want %s", i, lines[i], want)
		}
	}
	// The held line keeps its own time, not the release's.
	f := strings.Fields(lines[1])
	at, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(f[0], "time="))
	if err != nil {
		t.Fatal(err)
	}
	if d := at.Sub(logged); d < -time.Millisecond || d > 10*time.Millisecond {
		t.Errorf("held line's time %v is %v from when it was logged", at, d)
	}
}

// TestLogHoldBounded: a hold that outlasts maxHeld records writes the
// queue out rather than growing without bound, still in order.
func TestLogHoldBounded(t *testing.T) {
	var out bytes.Buffer
	h := newLogHold(slog.NewTextHandler(&out, nil))
	log := slog.New(h)
	h.hold()
	for i := range maxHeld + 10 {
		log.Info(fmt.Sprint("n", i))
	}
	if got := strings.Count(out.String(), "\n"); got != maxHeld {
		t.Errorf("%d lines written while held past the bound, want %d", got, maxHeld)
	}
	if len(h.s.q) > maxHeld {
		t.Errorf("queue holds %d records, bound %d", len(h.s.q), maxHeld)
	}
	h.release()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != maxHeld+10 {
		t.Fatalf("got %d lines, want %d", len(lines), maxHeld+10)
	}
	for i, l := range lines {
		if !strings.Contains(l, fmt.Sprintf("msg=n%d", i)) {
			t.Fatalf("line %d = %q: out of order", i, l)
		}
	}
}

// TestReloadTraceReleasesHold: the end of a reload's trace writes what
// was held since its start, and the timeline at debug level.
func TestReloadTraceReleasesHold(t *testing.T) {
	var out bytes.Buffer
	h := newLogHold(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	log := slog.New(h)
	startTrace(time.Now(), h)
	traceMark("read-returned")
	log.Info("reloading")
	traceMark("acked")
	if out.Len() != 0 {
		t.Fatalf("written during the reload:\n%s", out.String())
	}
	endTrace(log)
	s := out.String()
	if !strings.Contains(s, "msg=reloading") || !strings.Contains(s, `msg="reload timeline"`) ||
		!strings.Contains(s, " read-returned=") || !strings.Contains(s, " acked=") {
		t.Errorf("after the trace's end:\n%s", s)
	}
	if curTrace.Load() != nil {
		t.Error("trace still running")
	}
	traceMark("stray") // no trace: nothing recorded, no panic
	endTrace(log)
}
