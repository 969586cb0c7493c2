// Package testenv tells tests what the environment offers and decides, in one
// place, whether a test that needs something missing skips or fails.
//
// Locally a missing requirement (root, a binary such as keepalived) skips the
// test, so that `go test ./...` passes for a contributor without root. Under
// CI (CI=true) nothing may be skipped for a missing requirement: the test
// fails instead, because `make deps` should have installed it.
package testenv

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// CI reports whether the tests run under continuous integration, where a
// missing requirement is a failure rather than a skip.
func CI() bool {
	v, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && v
}

// InVM reports whether the test binary runs inside the lvskit QEMU guest
// (see internal/vmtest).
func InVM() bool { return os.Getenv("LVSKIT_IN_VM") == "1" }

// missing skips the test locally and fails it under CI.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if CI() {
		t.Fatalf("CI: required but missing: "+format, args...)
	}
	t.Skipf("skipping: "+format, args...)
}

// NeedRoot skips (or, under CI, fails) the test unless it runs as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "test needs root")
	}
}

// NeedTool returns the path of the named executable, skipping (or, under CI,
// failing) the test when it is not installed.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, "test needs %q in PATH (make deps installs it)", name)
	}
	return p
}

// NeedVM skips (or, under CI, fails) the test unless it runs inside the
// lvskit QEMU guest. VM tests are also guarded by the "vm" build tag, so this
// only catches a vm-tagged binary run on the host by mistake.
func NeedVM(t testing.TB) {
	t.Helper()
	if !InVM() {
		missing(t, "test must run in the lvskit VM (make test-vm)")
	}
}

// Missing skips the test locally, and fails it under CI, for a requirement
// the environment lacks that the other helpers do not name (an IPv6
// loopback, a user, a kernel feature). The message says what is missing.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	missing(t, format, args...)
}

// SkipUnlessHelper skips a test that exists only to run as a child process
// of another test or benchmark (parent), which sets the environment
// variable env to "1" for it. Such a skip is not a missing requirement, so
// it does not fail under CI.
func SkipUnlessHelper(t testing.TB, env, parent string) {
	t.Helper()
	if os.Getenv(env) != "1" {
		t.Skipf("skipping: helper process of %s (runs when %s=1)", parent, env)
	}
}

// SkipShort skips a test under go test -short, saying why: a chosen
// shortening, not a missing requirement, so it does not fail under CI.
func SkipShort(t testing.TB, why string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("skipping in -short mode: %s", why)
	}
}
