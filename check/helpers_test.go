package check_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
)

// noLeaks fails the test if goroutines of package check (or os/exec
// pipes it started) are still running once the test's other cleanups have
// run. Call it first in a test so that its cleanup runs last.
func noLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		var stacks string
		for i := 0; i < 500; i++ { // up to 5 s
			stacks = leaked()
			if stacks == "" {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Errorf("leaked goroutines:\n%s", stacks)
	})
}

func leaked() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		s := string(g)
		if strings.Contains(s, "check_test.") {
			continue
		}
		if strings.Contains(s, "lvskit/lvskit/check.") || strings.Contains(s, "os/exec.") {
			out = append(out, s)
		}
	}
	return strings.Join(out, "\n\n")
}

// rawServer accepts TCP connections on 127.0.0.1 and runs handle on each;
// cleanup closes the listener and every connection and waits for handlers.
type rawServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func serveRaw(t *testing.T, handle func(c net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				handle(c)
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// closedPort returns a loopback TCP port with no listener.
func closedPort(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	return ap
}

// mustContain fails unless s contains every part.
func mustContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s = %q, want it to contain %q", what, s, p)
		}
	}
}

// badServer is a broken peer and the reason a check must give for it.
type badServer struct {
	name   string
	handle func(net.Conn)
	reason string
}

// runBad checks each broken server once: the result must be down with
// the expected reason.
func runBad(t *testing.T, check func(netip.AddrPort) check.Result, cases []badServer) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := check(serveRaw(t, tc.handle))
			if r.Up {
				t.Fatalf("up against a broken server: %+v", r)
			}
			mustContain(t, "Reason", r.Reason, tc.reason)
		})
	}
}

// startMonitor returns a Monitor running on a goroutine of its own, closed
// (and its Run waited for) when the test ends.
func startMonitor(tb testing.TB, cfg *check.MonitorConfig) *check.Monitor {
	tb.Helper()
	m, err := check.NewMonitor(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(context.Background()) }()
	tb.Cleanup(func() {
		m.Close()
		if err := <-done; err != nil && !errors.Is(err, check.ErrClosed) {
			tb.Errorf("Monitor.Run: %v", err)
		}
	})
	return m
}

// mustAdd adds t to m, failing the test on an error.
func mustAdd(tb testing.TB, m *check.Monitor, t check.Target) {
	tb.Helper()
	if err := m.Add(t); err != nil {
		tb.Fatal(err)
	}
}
