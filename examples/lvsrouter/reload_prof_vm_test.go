//go:build vm

package main

import (
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"
)

// With LVSKIT_RELOAD_PROFILE=FILE, a router run by a VM benchmark
// (LVSROUTER_AS_MAIN) writes a CPU profile of the whole process, at 1 kHz,
// over the second after its first SIGHUP: what a reload in the guest
// competes with. BenchmarkVMRouterReload10k prints it base64-encoded
// (`lvsrouter-profile:` line) for go tool pprof on the host.
func init() {
	// LVSKIT_RELOAD_FRESH=1 (with LVSKIT_SCALE_AB, beside a plain run in
	// the same guest): the reload reads and splices into fresh memory, as
	// before 2026-12-06, to measure what reusing it saves.
	if os.Getenv("LVSROUTER_AS_MAIN") == "1" && os.Getenv("LVSKIT_RELOAD_FRESH") == "1" {
		reloadReuse = false
	}
	path := os.Getenv("LVSKIT_RELOAD_PROFILE")
	if os.Getenv("LVSROUTER_AS_MAIN") != "1" || path == "" {
		return
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		<-hup
		f, err := os.Create(path)
		if err != nil {
			return
		}
		defer f.Close()
		runtime.SetCPUProfileRate(1000)
		if err := pprof.StartCPUProfile(f); err != nil {
			return
		}
		time.Sleep(time.Second)
		pprof.StopCPUProfile()
	}()
}
