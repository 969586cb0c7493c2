//go:build !linux

package main

import "syscall"

// haproxyProcAttr: only Linux runs the node (the vrrp package's Router
// needs it); elsewhere haproxy starts with the default attributes.
func haproxyProcAttr() *syscall.SysProcAttr { return nil }
