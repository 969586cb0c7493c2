package check_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
)

func TestTCPTimeout(t *testing.T) {
	noLeaks(t)
	ap := check.SilentListener(t)
	r := check.TCP{Addr: ap, Timeout: 200 * time.Millisecond}.Check(context.Background())
	if r.Up || !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Fatalf("%+v, want down with DeadlineExceeded", r)
	}
	mustContain(t, "Reason", r.Reason, "connect: timeout")

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	r = check.TCP{Addr: ap, Timeout: 10 * time.Second}.Check(ctx)
	if r.Up || !errors.Is(r.Err, context.Canceled) {
		t.Fatalf("%+v, want down with Canceled", r)
	}
}

// TestTCPHalfOpen: the check leaves the listener nothing to accept, like
// HAProxy's half-open check. Kernels that send the final ACK anyway are
// only logged: the check still works there.
func TestTCPHalfOpen(t *testing.T) {
	noLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := check.TCP{Addr: ln.Addr().(*net.TCPAddr).AddrPort()}.Check(context.Background())
	if !r.Up {
		t.Fatalf("%+v", r)
	}
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(100 * time.Millisecond))
	if c, err := ln.Accept(); err == nil {
		c.Close()
		t.Logf("the listener accepted a connection: this kernel completed the handshake")
	} else {
		t.Logf("half-open: nothing to accept (%v)", err)
	}
}
