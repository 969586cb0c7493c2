package main

import (
	"os"
	"testing"
)

// TestMain lets the test binary stand in for the haproxypair command: with
// HAPROXYPAIR_AS_MAIN=1 it runs the program with its arguments. The netns
// tests start nodes this way, and keepalived's vrrp_script runs -check
// through it.
func TestMain(m *testing.M) {
	if os.Getenv("HAPROXYPAIR_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
