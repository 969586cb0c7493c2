package main

import "syscall"

// haproxyProcAttr puts haproxy in a process group of its own, so that a
// SIGTERM or ^C meant for us does not stop it before the drain, and has
// the kernel tell it to go should we die.
func haproxyProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
