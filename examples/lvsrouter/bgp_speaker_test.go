package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
)

// lockedBuffer is a log sink the speaker's goroutines write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitLog waits (bounded) until the log has n lines containing s.
func waitLog(t *testing.T, l *lockedBuffer, s string, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); strings.Count(l.String(), s) < n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("log without %d x %q:\n%s", n, s, l.String())
		}
	}
}

// TestSpeakerProcess drives a real speaker process (lvsrouter-bgp)
// through every call, with a neighbour on loopback that
// accepts the TCP connection and closes it; then kills the process and
// sees lvsrouter start it again, with its neighbour, on its own.
func TestSpeakerProcess(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conns := make(chan struct{}, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
			select {
			case conns <- struct{}{}:
			default:
			}
		}
	}()
	waitConn := func() {
		t.Helper()
		select {
		case <-conns:
		case <-time.After(20 * time.Second):
			t.Fatal("the speaker did not connect to its neighbour")
		}
	}
	port := ln.Addr().(*net.TCPAddr).Port
	c, err := ParseBGP("bgp.conf", fmt.Appendf(nil, "local_as 65001\nrouter_id 10.0.0.11\nneighbor 127.0.0.1 {\n remote_as 65000\n port %d\n connect_retry 1\n}\n", port))
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	ctx := t.Context()
	sp, err := startSpeaker(ctx, c, log)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if err := sp.SetNeighbors(ctx, c.Neighbors); err != nil {
		t.Fatal(err)
	}
	waitConn()
	// The speaker's own log lines reach lvsrouter's log with their
	// attributes.
	waitLog(t, logs, `msg="bgp: neighbor added" neighbor=127.0.0.1 remote_as=65000`, 1)
	p := netip.MustParsePrefix("192.0.2.1/32")
	if err := sp.Announce(ctx, p, bgpAttrs{MED: 5, HasMED: true, Communities: "1,2"}); err != nil {
		t.Fatal(err)
	}
	if sent, err := sp.Sent(ctx); err != nil || len(sent) != 0 {
		t.Errorf("Sent with no session established: %v, %v", sent, err)
	}
	if err := sp.Withdraw(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := sp.Announce(ctx, p, bgpAttrs{}); err != nil {
		t.Fatal(err)
	}
	// GoBGP's error comes back as its text.
	if err := sp.Reset(ctx, netip.MustParseAddr("127.0.0.9"), "test"); err == nil || !strings.Contains(err.Error(), "127.0.0.9") {
		t.Errorf("Reset of no neighbour: %v", err)
	}

	s := sp.(*speakerProc)
	// lvsrouter's signals, sent to its process group (a reload, a dump,
	// a stop lvsrouter drains first), leave the speaker running.
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.Signal(36), syscall.SIGTERM, syscall.SIGINT} {
		if err := s.conn.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		if _, err := sp.Sent(ctx); err != nil {
			t.Fatalf("after %v: %v", sig, err)
		}
	}
	if _, err := sp.Sent(ctx); err != nil || strings.Contains(logs.String(), "the speaker exited") {
		t.Fatalf("a signal ended the speaker: %v\n%s", err, logs.String())
	}
	s.mu.Lock()
	old := s.conn
	old.cmd.Process.Kill()
	s.mu.Unlock()
	waitLog(t, logs, "bgp: the speaker exited", 1)
	waitLog(t, logs, `msg="bgp: speaker restarted" neighbors=1 announced=1`, 1)
	waitLog(t, logs, `msg="bgp: neighbor added"`, 2)
	for len(conns) > 0 {
		<-conns
	}
	waitConn()
	if err := sp.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	s.mu.Lock()
	if s.conn != nil {
		t.Error("Close kept the process")
	}
	s.mu.Unlock()
	if err := sp.Withdraw(ctx, p); err == nil {
		t.Error("Withdraw after Close succeeded")
	}
}

// TestSpeakerStartFails: a speaker that exits at once fails the start
// with its exit status.
func TestSpeakerStartFails(t *testing.T) {
	defer func(f func() (string, error)) { speakerCommand = f }(speakerCommand)
	speakerCommand = func() (string, error) { return "/bin/false", nil }
	_, err := startSpeaker(t.Context(), testBGPConfig(t, ""), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "bgp: start: bgp: the speaker exited: exit status 1") {
		t.Errorf("start of /bin/false: %v", err)
	}
}

// TestFindSpeaker: lvsrouter-bgp is found on PATH, and when it is
// nowhere the error names where it was looked for.
func TestFindSpeaker(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	_, err := findSpeaker()
	self, _ := os.Executable()
	next := filepath.Join(filepath.Dir(self), speakerProgram)
	if err == nil || !strings.Contains(err.Error(), next) || !strings.Contains(err.Error(), "lvsrouter-bgp on PATH") {
		t.Errorf("no speaker anywhere: %v", err)
	}
	p := filepath.Join(dir, speakerProgram)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := findSpeaker(); err != nil || got != p {
		t.Errorf("speaker on PATH: %q, %v; want %q", got, err, p)
	}
}

// TestSpeakerLogLine: a speaker's slog record keeps its level, message,
// time and attributes; a line that is not one (a panic's trace) is an
// error.
func TestSpeakerLogLine(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(slog.NewTextHandler(&b, nil))
	logSpeakerLine(log, []byte(`{"time":"2026-12-07T07:00:00.5Z","level":"WARN","msg":"gobgp: x","Topic":"Peer","Key":"10.0.0.1"}`))
	logSpeakerLine(log, []byte(`{"time":"2026-12-07T07:00:00Z","level":"DEBUG","msg":"not shown"}`))
	logSpeakerLine(log, []byte(`panic: boom`))
	want := `time=2026-12-07T07:00:00.500Z level=WARN msg="gobgp: x" Key=10.0.0.1 Topic=Peer` + "\n"
	got := b.String()
	if !strings.HasPrefix(got, want) || strings.Contains(got, "not shown") || !strings.Contains(got, `level=ERROR msg="bgp: speaker: panic: boom"`) {
		t.Errorf("got\n%s\nwant first\n%s", got, want)
	}
}

// TestHeavyDepsNotLinked pins out of the lvsrouter binary what would
// weigh on every router's start and resident set: GoBGP (and gRPC, which
// comes with it), which runs in lvsrouter-bgp, started only with --bgp;
// client_golang and protobuf's runtime, whose packages' start-up held
// about 5 MiB for /metrics (internal/promtext writes the text instead).
func TestHeavyDepsNotLinked(t *testing.T) {
	goTool := testenv.NeedTool(t, "go")
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for pkg := range strings.Lines(string(out)) {
		for _, heavy := range []string{"github.com/osrg/gobgp", "google.golang.org/grpc", "github.com/prometheus/", "google.golang.org/protobuf"} {
			if strings.HasPrefix(pkg, heavy) {
				t.Errorf("lvsrouter links %s", strings.TrimSpace(pkg))
			}
		}
	}
}

// TestSpeakerHungIsKilled: a speaker that never answers is killed after
// speakerTimeout, and one whose answer does not decode (cat, which
// echoes the request) at once; the call says which.
func TestSpeakerHungIsKilled(t *testing.T) {
	defer func(f func() (string, error), d time.Duration) { speakerCommand, speakerTimeout = f, d }(speakerCommand, speakerTimeout)
	hung := filepath.Join(t.TempDir(), "hung")
	if err := os.WriteFile(hung, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		prog    string
		timeout time.Duration
		want    string
	}{
		{hung, 100 * time.Millisecond, "did not answer start within 100ms: killed it"},
		{"/bin/cat", time.Minute, "the speaker exited: signal: killed"},
	} {
		prog, want := c.prog, c.want
		speakerCommand, speakerTimeout = func() (string, error) { return prog, nil }, c.timeout
		_, err := startSpeaker(t.Context(), testBGPConfig(t, ""), slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("start of %s: %v, want %q", prog, err, want)
		}
	}
}
