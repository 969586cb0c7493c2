package check

import (
	"context"
	"time"
)

// waker is how the Monitor's loop sleeps: until the time it armed, or
// until another goroutine wakes it. A wake that comes before the sleep is
// kept, so the sleep then returns at once.
type waker interface {
	// arm sets the time to sleep until, d from now; the Monitor calls it
	// under its lock, so the deadline matches the heap it looked at.
	arm(d time.Duration)
	// sleep waits until the armed time, a wake or (for the clock's
	// waker) the end of ctx.
	sleep()
	// wake ends the current or next sleep.
	wake()
	// close releases the waker.
	close()
}

// clockWaker sleeps on the Monitor's Clock, so that an injected clock
// drives the schedule in tests.
type clockWaker struct {
	timer Timer
	kick  chan struct{}
	done  <-chan struct{}
}

func newClockWaker(c Clock, ctx context.Context) *clockWaker {
	return &clockWaker{timer: c.NewTimer(time.Hour), kick: make(chan struct{}, 1), done: ctx.Done()}
}

func (w *clockWaker) arm(d time.Duration) { w.timer.Reset(d) }

func (w *clockWaker) sleep() {
	select {
	case <-w.timer.C():
	case <-w.kick:
	case <-w.done:
	}
}

func (w *clockWaker) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *clockWaker) close() { w.timer.Stop() }
