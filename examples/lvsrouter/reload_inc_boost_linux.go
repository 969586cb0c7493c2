package main

import "syscall"

// boostThread sets the calling thread's nice value, when allowed (root,
// CAP_SYS_NICE), and returns what puts the old one back.
func boostThread(nice int) (undo func()) {
	tid := syscall.Gettid()
	// The raw getpriority returns 20 - nice.
	old, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
	if err != nil {
		return func() {}
	}
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil {
		return func() {}
	}
	return func() { _ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, 20-old) }
}
