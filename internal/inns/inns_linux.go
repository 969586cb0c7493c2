package inns

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// Run runs fn in the namespace at path, or in the caller's namespace when
// path is empty. The switched thread is discarded if switching back
// fails, so no other goroutine can inherit the namespace.
func Run(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("netns %s: %w", path, err)
	}
	defer ns.Close()
	var ferr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			ferr = err
			return
		}
		defer orig.Close()
		if ferr = netns.Set(ns); ferr != nil {
			return
		}
		ferr = fn()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
	}()
	<-done
	return ferr
}
