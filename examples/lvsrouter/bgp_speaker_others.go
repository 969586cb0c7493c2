//go:build !linux

package main

import "syscall"

// speakerSysProcAttr: no parent-death signal here; the speaker ends when
// its stdin does.
func speakerSysProcAttr() *syscall.SysProcAttr { return nil }
