//go:build windows || plan9

package main

import (
	"errors"
	"log/slog"
)

func newSyslogHandler(int, *slog.HandlerOptions) (slog.Handler, func(), error) {
	return nil, nil, errors.ErrUnsupported
}

func setUmask(int) {}

func enableCoreDump() { setTracebackCrash() }

func umask(int) int { return 0 }

func monotonicUsec() int64 { return 0 }
