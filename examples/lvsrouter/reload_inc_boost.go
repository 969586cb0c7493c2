package main

import (
	"runtime"
	"sync"
	"time"
)

// A reload's own work (reading the file, the changed block, the one
// service's desired state and its kernel change) is small, but on a
// one-CPU host it competes with the checks: at 10,000 services × 4 TCP
// checks the Monitor's connects took most of the CPU a reload in the
// guest got, and the reload took 5 to 8 times its own CPU time. While a
// reload runs, its goroutine gets an OS thread of its own at a higher
// priority (boostThread), and GOMAXPROCS is at least 2 so that the checks
// run on another thread the kernel can put behind it, instead of taking
// turns with the reload on the one P. The checks are delayed by the
// reload's few tens of milliseconds at most; keepalived stops its checkers
// for a whole reload.
var boost struct {
	sync.Mutex
	n    int // boosts running
	prev int // GOMAXPROCS before the first; 0: not raised
}

// boostLinger is how long GOMAXPROCS stays raised after the last boost
// ends: each change of GOMAXPROCS stops the world, and reloads may come
// in a burst.
const boostLinger = 200 * time.Millisecond

// reloadNice is the priority a reload's thread runs at.
const reloadNice = -10

// boostReload gives the calling goroutine the reload's priority until the
// returned func is called (on the same goroutine). The thread's priority
// is raised before GOMAXPROCS: the second P's thread, started at once to
// run the checks, would otherwise compete with the reload's at the same
// priority and could take the CPU from it for a time slice.
func boostReload() (restore func()) {
	runtime.LockOSThread()
	undo := boostThread(reloadNice)
	boost.Lock()
	if boost.prev == 0 {
		boost.prev = runtime.GOMAXPROCS(0)
		if boost.prev < 2 {
			runtime.GOMAXPROCS(2)
		}
	}
	boost.n++
	boost.Unlock()
	return func() {
		undo()
		boost.Lock()
		boost.n--
		if boost.n == 0 {
			time.AfterFunc(boostLinger, unboost)
		}
		boost.Unlock()
		runtime.UnlockOSThread()
	}
}

// unboost puts GOMAXPROCS back once no boost runs.
func unboost() {
	boost.Lock()
	defer boost.Unlock()
	if boost.n > 0 || boost.prev == 0 {
		return
	}
	if boost.prev < 2 {
		runtime.GOMAXPROCS(boost.prev)
	}
	boost.prev = 0
}
