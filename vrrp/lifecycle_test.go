package vrrp

import (
	"context"
	"errors"
	"net/netip"
	"testing"
)

// TestRouterLifecycle: NewRouter opens nothing; Close is idempotent and
// works without Run; after it Add and Run fail with ErrClosed.
func TestRouterLifecycle(t *testing.T) {
	r, err := NewRouter(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Interface: "eth0", VRID: 1, VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.1/32")}}}
	if _, err := r.Add(cfg); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := r.Add(cfg); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close = %v, want ErrClosed", err)
	}
	if err := r.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close = %v, want ErrClosed", err)
	}
}
