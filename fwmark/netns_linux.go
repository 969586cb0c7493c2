package fwmark

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// openNetNS opens the network namespace file at path; it returns nil and no
// error for "", the caller's namespace.
func openNetNS(path string) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fwmark: network namespace: %w", err)
	}
	return f, nil
}

// runInNetNS runs fn on a thread switched into the network namespace at
// path (fn runs directly for ""). The thread is switched back afterwards;
// if that fails it stays locked and dies with its goroutine, so no other
// code ever runs in the wrong namespace.
func runInNetNS(path string, fn func() error) error {
	ns, err := openNetNS(path)
	if err != nil || ns == nil {
		if err != nil {
			return err
		}
		return fn()
	}
	defer ns.Close()
	fd := int(ns.Fd())
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
