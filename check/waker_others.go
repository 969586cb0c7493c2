//go:build !linux

package check

import (
	"errors"
	"fmt"
	"time"
)

// eventWaker is Linux's epoll waker; elsewhere the Monitor's loop always
// sleeps on a clockWaker and checks in flight wait on the workers.
type eventWaker struct {
	ready []readyEvent
}

// readyEvent mirrors the field of unix.EpollEvent that flights reads.
type readyEvent struct {
	Events uint32
	Fd     int32
}

func newEventWaker() (*eventWaker, error) {
	return nil, fmt.Errorf("check: event waker: %w", errors.ErrUnsupported)
}

func (w *eventWaker) arm(time.Duration) {}
func (w *eventWaker) sleep()            {}
func (w *eventWaker) poll()             {}
func (w *eventWaker) wake()             {}
func (w *eventWaker) close()            {}
func (w *eventWaker) unwatch(int)       {}

func (w *eventWaker) watch(int, uint32, bool) error {
	return fmt.Errorf("check: event waker: %w", errors.ErrUnsupported)
}
