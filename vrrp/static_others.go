//go:build !linux

package vrrp

import (
	"context"
	"errors"
	"fmt"
)

// SetStatic needs Linux: elsewhere it returns an error wrapping
// errors.ErrUnsupported.
func SetStatic(ctx context.Context, cfg *StaticConfig, old, next *Static) error {
	return fmt.Errorf("vrrp: static addresses, routes and rules: %w", errors.ErrUnsupported)
}

// KeepStatic needs Linux: elsewhere it returns an error wrapping
// errors.ErrUnsupported.
func KeepStatic(ctx context.Context, cfg *StaticConfig, s *Static) (<-chan struct{}, error) {
	return nil, fmt.Errorf("vrrp: static addresses, routes and rules: %w", errors.ErrUnsupported)
}
