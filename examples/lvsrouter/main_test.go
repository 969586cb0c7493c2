package main

import (
	"os"
	"testing"
)

// TestMain lets the test binary stand in for the lvsrouter command: with
// LVSROUTER_AS_MAIN=1 it runs the router with its arguments. VM tests start
// routers this way inside network namespaces, where no Go toolchain exists.
func TestMain(m *testing.M) {
	if os.Getenv("LVSROUTER_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
