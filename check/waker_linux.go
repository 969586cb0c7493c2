package check

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"
)

// eventWaker sleeps in epoll_wait(2) on an epoll set holding an eventfd
// that wake writes to, and the sockets of checks in flight (see flights).
// The loop's thread sleeps in the kernel and keeps its P: a Go timer would
// instead park the goroutine, wake the runtime's poller thread whenever
// the timer moves earlier, and hand the goroutine between threads on
// every firing, which at a thousand wake-ups a second costs more than the
// scheduling itself.
type eventWaker struct {
	ev, ep   int
	deadline time.Time
	evs      [64]unix.EpollEvent
	// ready holds the socket events of the last sleep or poll.
	ready []unix.EpollEvent
}

func newEventWaker() (*eventWaker, error) {
	ev, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, err
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err == nil {
		err = unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, ev, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(ev)})
		if err != nil {
			unix.Close(ep)
		}
	}
	if err != nil {
		unix.Close(ev)
		return nil, err
	}
	return &eventWaker{ev: ev, ep: ep}, nil
}

func (w *eventWaker) arm(d time.Duration) { w.deadline = time.Now().Add(d) }

func (w *eventWaker) sleep() {
	d := time.Until(w.deadline)
	w.wait(int(max(0, (d+time.Millisecond-1)/time.Millisecond)))
}

// poll collects the socket events ready now, without sleeping.
func (w *eventWaker) poll() { w.wait(0) }

func (w *eventWaker) wait(ms int) {
	w.ready = w.ready[:0]
	n, _ := unix.EpollWait(w.ep, w.evs[:], ms) // EINTR: n < 0, nothing ready
	for _, e := range w.evs[:max(n, 0)] {
		if e.Fd == int32(w.ev) {
			var buf [8]byte
			unix.Read(w.ev, buf[:]) // reset the counter
			continue
		}
		w.ready = append(w.ready, e)
	}
}

func (w *eventWaker) wake() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(w.ev, one[:])
}

// watch adds fd to the epoll set, or changes the events it waits for.
func (w *eventWaker) watch(fd int, events uint32, add bool) error {
	op := unix.EPOLL_CTL_MOD
	if add {
		op = unix.EPOLL_CTL_ADD
	}
	return unix.EpollCtl(w.ep, op, fd, &unix.EpollEvent{Events: events, Fd: int32(fd)})
}

// unwatch removes fd from the epoll set.
func (w *eventWaker) unwatch(fd int) { unix.EpollCtl(w.ep, unix.EPOLL_CTL_DEL, fd, nil) }

func (w *eventWaker) close() {
	unix.Close(w.ep)
	unix.Close(w.ev)
}
