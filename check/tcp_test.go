package check_test

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
)

func TestTCPUp(t *testing.T) {
	noLeaks(t)
	addr := serveRaw(t, func(c net.Conn) {})
	r := check.TCP{Addr: addr, Timeout: 2 * time.Second}.Check(context.Background())
	if !r.Up {
		t.Fatalf("TCP to listener: %+v, want up", r)
	}
}

func TestTCPRefused(t *testing.T) {
	noLeaks(t)
	r := check.TCP{Addr: closedPort(t)}.Check(context.Background())
	if r.Up || !errors.Is(r.Err, syscall.ECONNREFUSED) {
		t.Fatalf("TCP to closed port: %+v, want down with ECONNREFUSED", r)
	}
	mustContain(t, "Reason", r.Reason, "connect", "refused")
}

func TestTCPBind(t *testing.T) {
	noLeaks(t)
	addr := serveRaw(t, func(c net.Conn) {})
	// A free local port to bind from: the check passes.
	r := check.TCP{Addr: addr, Bind: closedPort(t)}.Check(context.Background())
	if !r.Up {
		t.Fatalf("%+v", r)
	}
	// A port a listener holds: the bind, so the check, fails.
	r = check.TCP{Addr: addr, Bind: addr}.Check(context.Background())
	if r.Up || !errors.Is(r.Err, syscall.EADDRINUSE) {
		t.Fatalf("bind to a listening port: %+v, want EADDRINUSE", r)
	}
	mustContain(t, "Reason", r.Reason, "bind")
}

func TestTCPCancelled(t *testing.T) {
	noLeaks(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := check.TCP{Addr: closedPort(t)}.Check(ctx)
	if r.Up || !errors.Is(r.Err, context.Canceled) {
		t.Fatalf("%+v, want down with context.Canceled", r)
	}
}
