package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/check"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want check.Checker
	}{
		{"tcp://127.0.0.1:80", check.TCP{Addr: mustAP("127.0.0.1:80"), Timeout: time.Second}},
		{"smtp://127.0.0.1?helo=lb1", check.SMTP{Addr: mustAP("127.0.0.1:25"), HeloName: "lb1", Timeout: time.Second}},
		{"agent://[::1]:9999?send=hi", check.Agent{Addr: mustAP("[::1]:9999"), Send: "hi", Timeout: time.Second}},
		{"exec:///bin/true?arg=a&arg=b&dynamic=1", check.Exec{Path: "/bin/true", Args: []string{"a", "b"}, Dynamic: true, Timeout: time.Second}},
		{"file:///run/w?weight=10&reverse=1", check.File{Path: "/run/w", Weight: 10, Reverse: true}},
		{"udp://127.0.0.1:53?payload=x&reply=1", check.UDP{Addr: mustAP("127.0.0.1:53"), Payload: []byte("x"), RequireReply: true, Timeout: time.Second}},
	} {
		got, err := parseTarget(tc.in, time.Second)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if d := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); d != "" {
			t.Errorf("%s: (-want +got)\n%s", tc.in, d)
		}
	}
	h, err := parseTarget("https://127.0.0.1/health?host=www.example.com&status=200,302&sni=s&verify=1", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	hc := h.(*check.HTTP)
	if hc.Addr != mustAP("127.0.0.1:443") || !hc.TLS || hc.Path != "/health" || hc.Host != "www.example.com" || hc.ServerName != "s" || !hc.Verify || hc.Status.String() != "200,302" {
		t.Errorf("https target: %+v", hc)
	}
	for _, bad := range []string{"tcp://localhost:80", "tcp://127.0.0.1", "gopher://127.0.0.1:70", "http://127.0.0.1/?status=abc", "dns://127.0.0.1/x?type=BOGUS", "exec://"} {
		if _, err := parseTarget(bad, time.Second); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func mustAP(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestRunOnce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	dead := closedPort(t)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"http://" + srv.Listener.Addr().String() + "/"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), " UP ") {
		t.Errorf("output %q", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"tcp://" + dead}, &out, &errb); code != 1 {
		t.Fatalf("exit %d for a closed port: %s", code, out.String())
	}
	if !strings.Contains(out.String(), "DOWN") || !strings.Contains(out.String(), "refused") {
		t.Errorf("output %q", out.String())
	}
}

func TestRunWatch(t *testing.T) {
	addr := closedPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"-watch", "-inter", "20ms", "-rise", "1", "-fall", "1", "tcp://" + addr}, pw, io.Discard)
		pw.Close()
	}()
	line := make([]byte, 512)
	n, err := pr.Read(line)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	rest := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(pr)
		rest <- string(b)
	}()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	if tail := <-rest; !strings.Contains(tail, "1 target: 0 up, 1 down") {
		t.Errorf("no summary after the watch: %q", tail)
	}
	if !strings.Contains(string(line[:n]), "DOWN") {
		t.Errorf("first transition %q, want DOWN", line[:n])
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestParseTargetRefuses: unknown and misspelled parameters, values a
// kind cannot use, and URL parts no kind uses are refused, naming them.
func TestParseTargetRefuses(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://127.0.0.1/?stauts=200", `parameter "stauts" not supported for http`},
		{"http://127.0.0.1/?regexp=ok", `parameter "regexp" not supported for http`},
		{"tcp://127.0.0.1:80?timeout=1s", `parameter "timeout" not supported for tcp`},
		{"http://127.0.0.1/?sni=www.example.com", `parameter "sni" not supported for http`},
		{"icmp://127.0.0.1?count=3", `parameter "count" not supported for icmp`},
		{"exec:///bin/true?dynamic=yes", `dynamic="yes": want 0 or 1`},
		{"https://127.0.0.1/?verify=true", `verify="true": want 0 or 1`},
		{"http://127.0.0.1/?status=200&status=302", `parameter "status" given 2 times`},
		{"http://127.0.0.1/?regex=(", "parameter regex"},
		{"http://127.0.0.1/?regex=", "parameter regex is empty"},
		{"http://127.0.0.1/?digest=xyz", `digest="xyz": want 32 hexadecimal digits`},
		{"tcp://127.0.0.1:80/health", `path "/health" not supported for tcp`},
		{"tcp://user@127.0.0.1:80", "user information not supported"},
		{"tcp://127.0.0.1:80#x", `fragment "x" not supported`},
		{"icmp://127.0.0.1:7", "port not supported"},
		{"file://host/run/w", "want file:///absolute/path"},
		{"dns://127.0.0.1/x?type=BOGUS", `type="BOGUS" not supported`},
		{"gopher://127.0.0.1:70", `kind "gopher" not supported`},
	} {
		_, err := parseTarget(tc.in, time.Second)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.in, err, tc.want)
		}
	}
}

// TestRegex: the body must match regex; a body that does not is DOWN.
func TestRegex(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello world") }))
	defer srv.Close()
	base := "http://" + srv.Listener.Addr().String() + "/"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{base + "?regex=wor.d"}, &out, &errb); code != 0 {
		t.Fatalf("matching regex: exit %d: %s %s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{base + "?regex=^ok$"}, &out, &errb); code != 1 {
		t.Fatalf("regex that does not match: exit %d: %s", code, out.String())
	}
	if !strings.Contains(out.String(), "DOWN") {
		t.Errorf("output %q, want DOWN", out.String())
	}
}

// TestSummaryAndErrors: once mode prints each target, then a summary; a
// reason names the failing call once.
func TestSummaryAndErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"tcp://" + srv.Listener.Addr().String(), "tcp://" + closedPort(t)}, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	got := out.String()
	if !strings.Contains(got, "2 targets: 1 up, 1 down") {
		t.Errorf("no summary in %q", got)
	}
	if !strings.Contains(got, "connect: connection refused") || strings.Contains(got, "connect: connect:") {
		t.Errorf("reason repeats or is missing: %q", got)
	}
}

// TestHelp: -h explains every kind and parameter on stdout and exits 0.
func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{arg}, &out, &errb); code != 0 {
			t.Fatalf("%s: exit %d", arg, code)
		}
		if errb.Len() != 0 {
			t.Errorf("%s: stderr %q", arg, errb.String())
		}
		for _, k := range kinds {
			if !strings.Contains(out.String(), k.scheme+"://") {
				t.Errorf("%s: kind %s not explained", arg, k.scheme)
			}
			for _, p := range k.params {
				if !strings.Contains(out.String(), "      "+p.name+" ") {
					t.Errorf("%s: parameter %s of %s not explained", arg, p.name, k.scheme)
				}
			}
		}
		for _, f := range []string{"-timeout", "-watch", "-policy", "-inter", "-rise", "-fall", "-retry", "-delay-before-retry"} {
			if !strings.Contains(out.String(), f) {
				t.Errorf("%s: flag %s not explained", arg, f)
			}
		}
	}
}

// TestUsageErrors exit 2 with a message on stderr.
func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-bogus", "tcp://127.0.0.1:1"},
		{"tcp://127.0.0.1:1?x=1"},
		{"-timeout", "0s", "tcp://127.0.0.1:1"},
		{"-watch", "-policy", "nginx", "tcp://127.0.0.1:1"},
		{"-watch", "-rise", "0", "tcp://127.0.0.1:1"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if errb.Len() == 0 {
			t.Errorf("%q: nothing on stderr", args)
		}
	}
}

// FuzzParseTarget: any string gives a checker or an error naming the
// target, never a panic; an accepted target parses the same way again.
func FuzzParseTarget(f *testing.F) {
	for _, k := range kinds {
		f.Add(k.example)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseTarget(s, time.Second)
		if err != nil {
			if !strings.Contains(err.Error(), "target ") {
				t.Fatalf("error %q does not name the target", err)
			}
			return
		}
		c2, err := parseTarget(s, time.Second)
		if err != nil {
			t.Fatalf("second parse of %q: %v", s, err)
		}
		if a, b := show(c), show(c2); a != b {
			t.Fatalf("%q parses differently twice:\n%s\n%s", s, a, b)
		}
	})
}

// show prints a checker's fields (an HTTP check's regex by its source).
func show(c check.Checker) string {
	if h, ok := c.(*check.HTTP); ok {
		v := *h
		re := ""
		if v.Regex != nil {
			re = v.Regex.String()
		}
		v.Regex = nil
		return fmt.Sprintf("%#v regex %q", v, re)
	}
	return fmt.Sprintf("%#v", c)
}
