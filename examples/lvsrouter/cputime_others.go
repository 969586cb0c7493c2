//go:build !unix

package main

import "time"

// cpuTimes reports zero where getrusage(2) is missing.
func cpuTimes() (user, sys time.Duration) { return 0, 0 }
