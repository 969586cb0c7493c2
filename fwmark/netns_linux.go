package fwmark

import (
	"errors"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// runInNetNS runs fn on a thread switched into the network namespace fd
// (fn runs directly when fd <= 0). The thread is switched back afterwards;
// if that fails it stays locked and dies with its goroutine, so no other
// code ever runs in the wrong namespace.
func runInNetNS(fd int, fn func() error) error {
	if fd <= 0 {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, err) // thread stays locked and is discarded
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
