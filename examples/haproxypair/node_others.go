//go:build !linux

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// node needs Linux: the vrrp package's Router runs only there.
type node struct {
	o   *options
	log *slog.Logger
}

func (n *node) run(context.Context, <-chan struct{}, <-chan struct{}) error {
	return fmt.Errorf("haproxypair: running a node: %w", errors.ErrUnsupported)
}
