package main

import "syscall"

// speakerSysProcAttr kills the speaker when lvsrouter dies.
func speakerSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
