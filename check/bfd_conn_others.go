//go:build !linux

package check

import (
	"errors"
	"fmt"
)

func openBFDSender(string, *BFDSessionConfig) (bfdSender, error) {
	return nil, fmt.Errorf("check: bfd sockets: %w", errors.ErrUnsupported)
}

func openBFDListener(string, bool, bool) (bfdListener, error) {
	return nil, fmt.Errorf("check: bfd sockets: %w", errors.ErrUnsupported)
}
