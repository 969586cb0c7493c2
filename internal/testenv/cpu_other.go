//go:build !unix

package testenv

import "time"

// SelfCPU is not measured on this platform: it returns 0.
func SelfCPU() time.Duration { return 0 }
