//go:build !linux

package proc

import (
	"context"
	"errors"
	"fmt"
)

// Run runs c once; only Linux is supported.
func Run(ctx context.Context, c *Cmd) (Result, error) {
	return Result{ExitCode: -1}, fmt.Errorf("proc: running programs: %w", errors.ErrUnsupported)
}

// CheckSecure applies keepalived's enable_script_security rule; only Linux
// is supported.
func CheckSecure(name string, cred *Credential) error {
	return fmt.Errorf("proc: script security: %w", errors.ErrUnsupported)
}

// GroupMembers counts the processes in a process group; only Linux is
// supported.
func GroupMembers(pgid int) (int, error) {
	return 0, fmt.Errorf("proc: process groups: %w", errors.ErrUnsupported)
}
