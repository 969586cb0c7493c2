package main

import (
	"os"
	"strings"
)

// defaultConfigID is keepalived's config id when -i is not given: the
// node name (uname's, which os.Hostname reads on Linux) up to its first
// dot, so that on lb1.example.com the lines marked @lb1 apply.
func defaultConfigID() string {
	h, _ := os.Hostname()
	return shortHostname(h)
}

// shortHostname cuts a host name at its first dot.
func shortHostname(h string) string {
	if i := strings.IndexByte(h, '.'); i >= 0 {
		return h[:i]
	}
	return h
}
