//go:build netns

package fwmark

import (
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// newNetNS returns an open handle on a fresh, empty network namespace that
// lives until the test ends. The thread that made it is left locked and
// dies with its goroutine, so no other goroutine ever runs in it.
func newNetNS(t *testing.T) *os.File {
	t.Helper()
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- result{nil, err}
			return
		}
		f, err := os.Open("/proc/thread-self/ns/net")
		ch <- result{f, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("new network namespace: %v", r.err)
	}
	t.Cleanup(func() { r.f.Close() })
	return r.f
}

// inNS runs a command inside the namespace ns (through nsenter and an
// inherited descriptor) and returns its combined output.
func inNS(t *testing.T, ns *os.File, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command("nsenter", append([]string{"--net=/proc/self/fd/3", name}, args...)...)
	cmd.ExtraFiles = []*os.File{ns}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v in namespace: %v\n%s", name, args, err, out)
	}
	return string(out)
}
