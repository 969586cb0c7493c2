package check_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/internal/testenv"
)

func TestICMP(t *testing.T) {
	noLeaks(t)
	lo := netip.MustParseAddr("127.0.0.1")
	kind, err := check.ICMPSocket(lo)
	if err != nil {
		// Without ping sockets only root can send ICMP.
		testenv.NeedRoot(t)
		t.Fatalf("root but no ICMP socket: %v", err)
	}
	t.Logf("ICMP socket: %s", kind)
	r := check.ICMP{Addr: lo, Timeout: 2 * time.Second}.Check(context.Background())
	if !r.Up {
		t.Fatalf("ping 127.0.0.1: %+v", r)
	}
	r = check.ICMP{Addr: netip.MustParseAddr("127.0.0.2"), Timeout: 2 * time.Second}.Check(context.Background())
	if !r.Up {
		t.Fatalf("ping 127.0.0.2: %+v", r)
	}
}

func TestICMPv6(t *testing.T) {
	noLeaks(t)
	lo := netip.IPv6Loopback()
	if _, err := check.ICMPSocket(lo); err != nil {
		testenv.Missing(t, "no ICMPv6 socket: %v", err)
	}
	r := check.ICMP{Addr: lo, Timeout: 2 * time.Second}.Check(context.Background())
	if !r.Up {
		testenv.Missing(t, "ping ::1 failed (IPv6 loopback may be disabled): %+v", r)
	}
}
