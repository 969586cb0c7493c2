//go:build !windows && !plan9

package main

import (
	"fmt"
	"os"
	"syscall"
)

// openFIFO creates the FIFO when missing and opens it read-write and
// non-blocking (nil for no path).
func openFIFO(path string) (fifoFile, error) {
	if path == "" {
		return nil, nil
	}
	if err := syscall.Mkfifo(path, 0o600); err != nil && !os.IsExist(err) {
		return nil, fmt.Errorf("notify fifo %s: %w", path, err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("notify fifo: %w", err)
	}
	if fi.Mode()&os.ModeNamedPipe == 0 {
		return nil, fmt.Errorf("notify fifo %s: not a FIFO", path)
	}
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("notify fifo %s: %w", path, err)
	}
	return rawFIFO(fd), nil
}

// rawFIFO writes with write(2) on a non-blocking descriptor: a full FIFO
// loses the line (EAGAIN) instead of blocking, as in keepalived. (An
// os.File would wait in the poller.)
type rawFIFO int

func (f rawFIFO) WriteString(s string) (int, error) { return syscall.Write(int(f), []byte(s)) }

func (f rawFIFO) Close() error { return syscall.Close(int(f)) }
