package main

import (
	"bytes"
	"context"
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
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
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
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"-watch", "-inter", "20ms", "-rise", "1", "-fall", "1", "tcp://" + addr}, pw, io.Discard)
		pw.Close()
	}()
	line := make([]byte, 512)
	n, _ := pr.Read(line)
	cancel()
	go io.Copy(io.Discard, pr)
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(string(line[:n]), "DOWN") {
		t.Errorf("first transition %q, want DOWN", line[:n])
	}
}
