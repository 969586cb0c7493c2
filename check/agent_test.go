package check_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
)

func TestParseAgentReply(t *testing.T) {
	pct := func(v int) check.Weight { return check.Weight{Set: true, Percent: true, Value: v} }
	for _, tc := range []struct {
		in   string
		want check.AgentReply
		bad  bool
	}{
		{in: "up\n", want: check.AgentReply{State: check.AgentUp}},
		{in: "75%\n", want: check.AgentReply{Weight: pct(75)}},
		{in: "up,ready 50%\r\n", want: check.AgentReply{State: check.AgentUp, Admin: check.AdminReady, Weight: pct(50)}},
		{in: "drain", want: check.AgentReply{Admin: check.AdminDrain}},
		{in: "MAINT\n", want: check.AgentReply{Admin: check.AdminMaint}},
		{in: "down #disk full\n", want: check.AgentReply{State: check.AgentDown, Reason: "disk full"}},
		{in: "stopped\tmaxconn:30\n", want: check.AgentReply{State: check.AgentStopped, MaxConn: 30}},
		{in: "fail", want: check.AgentReply{State: check.AgentFail}},
		{in: "", want: check.AgentReply{}},
		{in: "bogus\n", bad: true},
		{in: "x%\n", bad: true},
		{in: "-5%\n", bad: true},
		{in: "maxconn:abc\n", bad: true},
	} {
		got, err := check.ParseAgentReply(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseAgentReply(%q) = %+v, want error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseAgentReply(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseAgentReply(f *testing.F) {
	for _, s := range []string{"up\n", "up ready 50%", "down #why", "maxconn:10,drain", "%", "#", "100000000000000000000%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := check.ParseAgentReply(s)
		if err != nil {
			return
		}
		// What we print, we must read back the same.
		again, err := check.ParseAgentReply(r.String())
		if err != nil {
			t.Fatalf("reparse of %q (from %q): %v", r.String(), s, err)
		}
		if again != r {
			t.Fatalf("round trip %q: %+v != %+v", s, again, r)
		}
	})
}

func agentServer(t *testing.T, r check.AgentReply) *check.AgentServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := check.NewAgentServer(ln, r)
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil && !errors.Is(err, check.ErrClosed) {
			t.Errorf("AgentServer.Run: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
	return s
}

func TestAgentRoundTrip(t *testing.T) {
	noLeaks(t)
	s := agentServer(t, check.AgentReply{State: check.AgentUp, Weight: check.Weight{Set: true, Percent: true, Value: 100}})
	c := check.Agent{Addr: s.Addr().(*net.TCPAddr).AddrPort(), Timeout: 2 * time.Second}
	r := c.Check(context.Background())
	if !r.Up || r.Weight.Value != 100 || !r.Weight.Percent {
		t.Fatalf("%+v", r)
	}
	s.Set(check.AgentReply{Admin: check.AdminDrain, Weight: check.Weight{Set: true, Percent: true, Value: 25}, MaxConn: 7})
	r = c.Check(context.Background())
	if !r.Up || r.Admin != check.AdminDrain || r.Weight.Value != 25 || r.MaxConn != 7 {
		t.Fatalf("%+v", r)
	}
	s.Set(check.AgentReply{State: check.AgentDown, Reason: "maintenance window"})
	r = c.Check(context.Background())
	if r.Up {
		t.Fatalf("%+v", r)
	}
	mustContain(t, "Reason", r.Reason, "agent says down: maintenance window")
}

func TestAgentSend(t *testing.T) {
	noLeaks(t)
	got := make(chan string, 1)
	addr := serveRaw(t, func(c net.Conn) {
		b := make([]byte, 64)
		n, _ := c.Read(b)
		got <- string(b[:n])
		io.WriteString(c, "up\n")
	})
	r := check.Agent{Addr: addr, Send: "hello agent\n"}.Check(context.Background())
	if !r.Up {
		t.Fatalf("%+v", r)
	}
	if s := <-got; s != "hello agent\n" {
		t.Errorf("agent got %q", s)
	}
}

func TestAgentBad(t *testing.T) {
	noLeaks(t)
	runBad(t, func(a netip.AddrPort) check.Result {
		return check.Agent{Addr: a, Timeout: 300 * time.Millisecond}.Check(context.Background())
	}, []badServer{
		{"silent", func(c net.Conn) { io.Copy(io.Discard, c) }, "context deadline exceeded"},
		{"garbage", func(c net.Conn) { io.WriteString(c, "HTTP/1.0 200 OK\r\n") }, "unknown"},
		{"long line", func(c net.Conn) { io.WriteString(c, strings.Repeat("up ", 1000)) }, "longer than 1024"},
		{"close at once", func(c net.Conn) {}, "read reply: EOF"},
		{"no newline", func(c net.Conn) { io.WriteString(c, "down") }, "agent says down"},
	})
}
