package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// TestMain lets the test binary stand in for the lvsrouter command: with
// LVSROUTER_AS_MAIN=1 it runs the router with its arguments. VM tests start
// routers this way inside network namespaces, where no Go toolchain exists.
func TestMain(m *testing.M) {
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

// testSpeaker is the BGP speaker of the routers tests run: the
// lvsrouter-bgp program at $LVSKIT_BGP_SPEAKER (make builds it and, for
// the VM tier, copies it into the guest there), else one built once with
// the go command. The test binary does not stand in for it, as it does
// for lvsrouter: it would link GoBGP into every router a benchmark
// measures.
func testSpeaker() (string, error) {
	if p := os.Getenv("LVSKIT_BGP_SPEAKER"); p != "" {
		return p, nil
	}
	testSpeakerOnce.Do(func() {
		dir, err := os.MkdirTemp(os.Getenv("LVSROUTER_PIDROOT"), "lvsrouter-bgp")
		if err != nil {
			testSpeakerErr = err
			return
		}
		p := filepath.Join(dir, speakerProgram)
		out, err := exec.Command("go", "build", "-o", p, "github.com/lvskit/lvskit/examples/lvsrouter/cmd/lvsrouter-bgp").CombinedOutput()
		if err != nil {
			testSpeakerErr = fmt.Errorf("building lvsrouter-bgp (or set LVSKIT_BGP_SPEAKER): %v\n%s", err, out)
			return
		}
		testSpeakerPath = p
		// The routers this test starts use it too.
		os.Setenv("LVSKIT_BGP_SPEAKER", p)
	})
	return testSpeakerPath, testSpeakerErr
}

var (
	testSpeakerOnce sync.Once
	testSpeakerPath string
	testSpeakerErr  error
)
