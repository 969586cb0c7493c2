package haproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
)

// namedServer starts an HTTP server on loopback answering its name.
func namedServer(t *testing.T, name string) netip.AddrPort {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	return netip.MustParseAddrPort(s.Listener.Addr().String())
}

type liveHAProxy struct {
	rt     *Runtime
	client *http.Client
	dials  atomic.Int32
}

// syncBuffer collects a process's output while the test may read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startHAProxy runs haproxy in the foreground with cfg (in which
// @DIR@ is replaced by a temporary directory) until the test ends.
func startHAProxy(t *testing.T, cfg string) *liveHAProxy {
	t.Helper()
	bin := testenv.NeedTool(t, "haproxy")
	dir, err := os.MkdirTemp("", "lvskit-hap-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg = strings.ReplaceAll(cfg, "@DIR@", dir)
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	cmd := exec.Command(bin, "-db", "-f", path)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("haproxy output:\n%s", log.String())
		}
	})
	sock := filepath.Join(dir, "admin.sock")
	for i := 0; ; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			t.Fatalf("haproxy exited:\n%s", log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if i > 1000 {
			t.Fatalf("haproxy stats socket did not appear:\n%s", log.String())
		}
	}
	h := &liveHAProxy{}
	h.rt = NewRuntime("unix", sock, &RuntimeConfig{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		h.dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}})
	t.Cleanup(func() { h.rt.Close() })
	fe := filepath.Join(dir, "fe.sock")
	h.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", fe)
		},
	}}
	return h
}

// answers sends n requests through HAProxy and counts who answered.
func (h *liveHAProxy) answers(t *testing.T, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := 0; i < n; i++ {
		resp, err := h.client.Get("http://haproxy/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got[fmt.Sprintf("%d:%s", resp.StatusCode, b)]++
	}
	return got
}

const liveConfig = `global
    stats socket @DIR@/admin.sock mode 600 level admin
    maxconn 100
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind unix@@DIR@/fe.sock
    default_backend be
backend be
    balance roundrobin
    server a %s
    server b %s
`

func TestRuntimeAgainstHAProxy(t *testing.T) {
	a, b, c, d := namedServer(t, "a"), namedServer(t, "b"), namedServer(t, "c"), namedServer(t, "d")
	h := startHAProxy(t, fmt.Sprintf(liveConfig, a, b))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rt := h.rt
	eq := func(got, want map[string]int) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("answers = %v, want %v", got, want)
		}
	}
	stat := func(name string) StatRow {
		t.Helper()
		rows, err := rt.ShowStat(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r := FindStat(rows, "be", name)
		if r == nil {
			t.Fatalf("no stat row for be/%s", name)
		}
		return *r
	}

	info, err := rt.ShowInfo(ctx)
	if err != nil || info["Name"] != "HAProxy" || info.Int("Pid") <= 0 {
		t.Fatalf("show info = %v, %v", info, err)
	}
	eq(h.answers(t, 4), map[string]int{"200:a": 2, "200:b": 2})

	// Weight 0 takes a out of the round robin.
	if err := rt.SetServerWeight(ctx, "be", "a", 0); err != nil {
		t.Fatal(err)
	}
	if cur, init, err := rt.GetWeight(ctx, "be", "a"); cur != 0 || init != 1 || err != nil {
		t.Fatalf("get weight = %d %d %v", cur, init, err)
	}
	if s := stat("a"); s.Weight != 0 || s.Status != "no check" || s.Type != StatServer {
		t.Fatalf("stat a = %+v", s)
	}
	eq(h.answers(t, 3), map[string]int{"200:b": 3})

	// Maintenance on b, weight back on a.
	if err := rt.SetServerWeight(ctx, "be", "a", 1); err != nil {
		t.Fatal(err)
	}
	if err := rt.SetServerState(ctx, "be", "b", StateMaint); err != nil {
		t.Fatal(err)
	}
	if s := stat("b"); s.Status != "MAINT" {
		t.Fatalf("stat b status = %q", s.Status)
	}
	eq(h.answers(t, 3), map[string]int{"200:a": 3})
	if err := rt.SetServerState(ctx, "be", "b", StateReady); err != nil {
		t.Fatal(err)
	}
	// disable / enable server.
	if err := rt.DisableServer(ctx, "be", "a"); err != nil {
		t.Fatal(err)
	}
	eq(h.answers(t, 2), map[string]int{"200:b": 2})
	if err := rt.EnableServer(ctx, "be", "a"); err != nil {
		t.Fatal(err)
	}
	// Drain keeps b out of new traffic.
	if err := rt.SetServerState(ctx, "be", "b", StateDrain); err != nil {
		t.Fatal(err)
	}
	if s := stat("b"); s.Status != "DRAIN" {
		t.Fatalf("stat b status = %q", s.Status)
	}
	eq(h.answers(t, 2), map[string]int{"200:a": 2})
	if err := rt.SetServerState(ctx, "be", "b", StateReady); err != nil {
		t.Fatal(err)
	}

	// Point b at server c.
	if err := rt.SetServerAddr(ctx, "be", "b", c); err != nil {
		t.Fatal(err)
	}
	if err := rt.SetServerWeight(ctx, "be", "a", 0); err != nil {
		t.Fatal(err)
	}
	eq(h.answers(t, 2), map[string]int{"200:c": 2})
	states, err := rt.ShowServersState(ctx, "be")
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 2 || states[1].Server != "b" || states[1].Addr != c || states[0].UserWeight != 0 || states[0].InitWeight != 1 {
		t.Fatalf("servers state = %+v", states)
	}

	// A dynamic server d: added in maintenance, enabled, then removed.
	if err := rt.AddServer(ctx, "be", "d", d.String(), "weight", "1"); err != nil {
		t.Fatal(err)
	}
	if err := rt.EnableServer(ctx, "be", "d"); err != nil {
		t.Fatal(err)
	}
	if err := rt.SetServerMaxconn(ctx, "be", "d", 5); err != nil {
		t.Fatal(err)
	}
	if err := rt.SetServerState(ctx, "be", "b", StateMaint); err != nil {
		t.Fatal(err)
	}
	eq(h.answers(t, 2), map[string]int{"200:d": 2})
	if s := stat("d"); s.Fields["slim"] != "5" {
		t.Fatalf("stat d slim = %q", s.Fields["slim"])
	}
	if err := rt.DisableServer(ctx, "be", "d"); err != nil {
		t.Fatal(err)
	}
	if err := rt.DelServer(ctx, "be", "d"); err != nil {
		t.Fatal(err)
	}
	if rows, _ := rt.ShowStat(ctx); FindStat(rows, "be", "d") != nil {
		t.Fatal("d still in show stat")
	}

	// Forced health: a goes DOWN and gets nothing, then comes back.
	if err := rt.SetServerState(ctx, "be", "b", StateReady); err != nil {
		t.Fatal(err)
	}
	if err := rt.SetServerWeight(ctx, "be", "a", 1); err != nil {
		t.Fatal(err)
	}
	if err := rt.SetServerHealth(ctx, "be", "a", HealthDown); err != nil {
		t.Fatal(err)
	}
	if s := stat("a"); s.Status != "DOWN" {
		t.Fatalf("stat a status = %q", s.Status)
	}
	eq(h.answers(t, 2), map[string]int{"200:c": 2})
	if err := rt.SetServerHealth(ctx, "be", "a", HealthUp); err != nil {
		t.Fatal(err)
	}
	eq(h.answers(t, 2), map[string]int{"200:a": 1, "200:c": 1})
	if err := rt.SetServerWeight(ctx, "be", "a", 0); err != nil {
		t.Fatal(err)
	}

	// Refusals come back as RuntimeError.
	var re *RuntimeError
	if err := rt.SetServerWeight(ctx, "be", "nope", 1); !errors.As(err, &re) || !strings.Contains(re.Msg, "No such server") {
		t.Fatalf("weight on missing server: %v", err)
	}
	if err := rt.SetServerAgent(ctx, "be", "a", AgentUp); !errors.As(err, &re) {
		t.Fatalf("agent without agent checks: %v", err)
	}
	if err := rt.DelServer(ctx, "be", "nope"); !errors.As(err, &re) {
		t.Fatalf("del missing server: %v", err)
	}

	// Several commands in one line, and ';' / space escaping.
	out, err := rt.ExecuteBatch(ctx, "get weight be/a", "get weight be/b", "experimental-mode on",
		Command("set", "var", "proc.x", `str(a;b c\d)`), "get var proc.x")
	if err != nil {
		t.Fatal(err)
	}
	if out[0] != "0 (initial 1)" || out[1] != "1 (initial 1)" || out[4] != `proc.x: type=str value=<a;b c\d>` {
		t.Fatalf("batch = %q", out)
	}
	if n := h.dials.Load(); n != 1 {
		t.Errorf("%d connections, want every command on one", n)
	}

	// A one-shot command uses its own connection and leaves the shared
	// one working.
	once, err := rt.ExecuteOnce(ctx, "show", "servers", "state", "be")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := ParseServersState(once); err != nil || len(st) != 2 {
		t.Fatalf("one-shot servers state = %+v, %v", st, err)
	}
	if cur, _, err := rt.GetWeight(ctx, "be", "b"); err != nil || cur != 1 {
		t.Fatalf("after one-shot: weight %d, %v", cur, err)
	}
	if n := h.dials.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestRuntimeContext(t *testing.T) {
	// A server that accepts and never answers: the context must bound
	// the call.
	dir := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	rt := NewRuntime("unix", filepath.Join(dir, "s"), nil)
	defer rt.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err = rt.Execute(ctx, "show", "info")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestCheckCommand(t *testing.T) {
	for _, c := range []string{"", "  ", "a;b", "a\nb", `a\`, `x \\;y`} {
		if err := checkCommand(c); !errors.Is(err, ErrBadCommand) {
			t.Errorf("checkCommand(%q) = %v", c, err)
		}
	}
	for _, c := range []string{"show info", `set var proc.x str(a\;b)`, `a\\`, Command("x", "a;b", `c\`)} {
		if err := checkCommand(c); err != nil {
			t.Errorf("checkCommand(%q) = %v", c, err)
		}
	}
}

func TestEscapeArg(t *testing.T) {
	for in, want := range map[string]string{"plain": "plain", "a;b": `a\;b`, "a b": `a\ b`, `a\b`: `a\\b`, "t\tt": "t\\\tt"} {
		if got := EscapeArg(in); got != want {
			t.Errorf("EscapeArg(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRuntimeOverTCP reaches the same HAProxy through a loopback TCP
// relay to its stats socket, so the TCP transport is exercised without
// guessing a free port for HAProxy.
func TestRuntimeOverTCP(t *testing.T) {
	a := namedServer(t, "a")
	b := namedServer(t, "b")
	h := startHAProxy(t, fmt.Sprintf(liveConfig, a, b))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	sock := h.rt.addr
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("unix", sock)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	rt := NewRuntime("tcp", ln.Addr().String(), nil)
	t.Cleanup(func() { rt.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rt.SetServerWeight(ctx, "be", "b", 0); err != nil {
		t.Fatal(err)
	}
	if cur, _, err := rt.GetWeight(ctx, "be", "b"); err != nil || cur != 0 {
		t.Fatalf("weight = %d, %v", cur, err)
	}
	if got := h.answers(t, 2); got["200:a"] != 2 {
		t.Fatalf("answers = %v", got)
	}
}

// TestParseWeightMatchesHAProxy sends the same weights to HAProxy's "set
// server ... weight" and to ParseWeight: both accept or refuse each, and
// agree on the weight that results.
func TestParseWeightMatchesHAProxy(t *testing.T) {
	a, b := namedServer(t, "a"), namedServer(t, "b")
	h := startHAProxy(t, strings.Replace(fmt.Sprintf(liveConfig, a, b), "server b "+b.String(), "server b "+b.String()+" weight 10", 1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, in := range []string{"0", "256", "257", "+7", " 7", "07", "-5", "50%", "0%", "300%", "3000%", "-5%", "%", "", "abc", "5x", "10%x", "0x10", "50.5%", "99999999999"} {
		_, herr := h.rt.Execute(ctx, "set", "server", "be/b", "weight", in)
		var re *RuntimeError
		if herr != nil && !errors.As(herr, &re) {
			t.Fatal(herr)
		}
		cur, _, err := h.rt.GetWeight(ctx, "be", "b")
		if err != nil {
			t.Fatal(err)
		}
		w, perr := ParseWeight(in)
		switch {
		case (herr == nil) != (perr == nil):
			t.Errorf("weight %q: haproxy %v, ParseWeight %v", in, herr, perr)
		case perr == nil && w.Of(10) != cur:
			t.Errorf("weight %q: haproxy sets %d, ParseWeight gives %d", in, cur, w.Of(10))
		}
		if err := h.rt.SetServerWeight(ctx, "be", "b", 10); err != nil {
			t.Fatal(err)
		}
	}
}
