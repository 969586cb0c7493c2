package check

import (
	"context"
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"
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

// eventWaker sleeps in ppoll(2) on an eventfd that wake writes to. The
// loop's thread sleeps in the kernel and keeps its P: a Go timer would
// instead park the goroutine, wake the runtime's poller thread whenever the
// timer moves earlier, and hand the goroutine between threads on every
// firing, which at a thousand wake-ups a second costs more than the
// scheduling itself.
type eventWaker struct {
	fd       int
	deadline time.Time
}

func newEventWaker() (*eventWaker, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, err
	}
	return &eventWaker{fd: fd}, nil
}

func (w *eventWaker) arm(d time.Duration) { w.deadline = time.Now().Add(d) }

func (w *eventWaker) sleep() {
	d := time.Until(w.deadline)
	if d < 0 {
		d = 0
	}
	ts := unix.NsecToTimespec(int64(d))
	fds := [1]unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	if n, _ := unix.Ppoll(fds[:], &ts, nil); n > 0 {
		var buf [8]byte
		unix.Read(w.fd, buf[:]) // reset the counter
	}
}

func (w *eventWaker) wake() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(w.fd, one[:])
}

func (w *eventWaker) close() { unix.Close(w.fd) }
