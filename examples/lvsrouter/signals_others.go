//go:build !linux

package main

import (
	"context"
	"log/slog"
)

// handleDumpSignals does nothing where keepalived's signal numbers do not
// exist.
func handleDumpSignals(context.Context, *Router, *slog.Logger) (stop func()) { return func() {} }
