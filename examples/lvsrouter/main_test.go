package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lvskit/lvskit/examples/lvsrouter/internal/gobgpspeaker"
)

// TestMain lets the test binary stand in for the lvsrouter command: with
// LVSROUTER_AS_MAIN=1 it runs the router with its arguments. VM tests start
// routers this way inside network namespaces, where no Go toolchain exists.
// With LVSROUTER_AS_BGP=1 it is the BGP speaker (lvsrouter-bgp) of such a
// router, or of a Router a test runs in process.
func TestMain(m *testing.M) {
	if os.Getenv("LVSROUTER_AS_BGP") == "1" {
		// The speaker of a router this binary runs (testSpeaker).
		os.Exit(gobgpspeaker.Main())
	}
	speakerCommand = testSpeaker
	if os.Getenv("LVSROUTER_AS_MAIN") == "1" {
		// Tests read the router's log on stderr (-l -G), and routers run
		// beside each other and beside keepalived peers: pid files go to a
		// directory of their own, never keepalived's defaults in /run.
		// The directory is made inside the test process's own
		// (LVSROUTER_PIDROOT), which it removes at its end: a router a test
		// kills with SIGKILL never reaches the RemoveAll below.
		dir, err := os.MkdirTemp(os.Getenv("LVSROUTER_PIDROOT"), "lvsrouter-pid")
		if err != nil {
			panic(err)
		}
		args := append([]string{"-l", "-G", "-p", filepath.Join(dir, "keepalived.pid"),
			"-r", filepath.Join(dir, "vrrp.pid"), "-c", filepath.Join(dir, "checkers.pid")}, os.Args[1:]...)
		code := run(args, os.Stdout, os.Stderr)
		os.RemoveAll(dir)
		os.Exit(code)
	}
	root, err := os.MkdirTemp("", "lvsrouter-test")
	if err != nil {
		panic(err)
	}
	os.Setenv("LVSROUTER_PIDROOT", root)
	code := m.Run()
	os.RemoveAll(root)
	os.Exit(code)
}

// testSpeaker runs the test binary itself as the BGP speaker
// (lvsrouter-bgp), in the guest as on the host.
func testSpeaker() (string, []string, error) {
	self, err := os.Executable()
	return self, []string{"LVSROUTER_AS_BGP=1"}, err
}
