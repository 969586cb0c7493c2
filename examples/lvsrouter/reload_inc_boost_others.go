//go:build !linux

package main

// boostThread does nothing where thread priorities are not set.
func boostThread(int) (undo func()) { return func() {} }
