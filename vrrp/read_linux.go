package vrrp

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// Receiving: one reader goroutine serves every receiving socket of a
// Router. It blocks in epoll_wait (its own epoll set, outside the Go
// runtime's poller) until an advert arrives, reads what is waiting with
// recvmmsg, and then, as long as adverts keep coming, reads again on a
// short grid (rxGrid) instead of waking for each one: a thousand backups
// hearing a thousand masters a second cost about a hundred wake-ups a
// second, not a thousand. An idle Router does not wake at all.
//
// Precision does not depend on the grid: every advert carries the
// kernel's receive timestamp (SO_TIMESTAMPNS) and the Master_Down_Timer
// restarts from it, not from when the reader woke; and before a
// Master_Down_Timer fires, the scheduler reads whatever is still waiting
// (drain), so an advert that arrived in time is never missed because the
// reader was between grid ticks.

// rxGrid returns the reader's grid for instances whose shortest advert
// interval is ivl: a twentieth of it, between 1 ms and 10 ms.
func rxGrid(ivl time.Duration) time.Duration {
	return min(max(ivl/20, time.Millisecond), 10*time.Millisecond)
}

// readLoop runs the reader until ctx is done.
func (r *Router) readLoop(ctx context.Context) error {
	if len(r.rconns) == 0 {
		<-ctx.Done()
		return nil
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(ep)
	stop, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return err
	}
	defer unix.Close(stop)
	for i, c := range r.rconns {
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}); err != nil {
			return err
		}
	}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, stop, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}); err != nil {
		return err
	}
	defer context.AfterFunc(ctx, func() {
		_, _ = unix.Write(stop, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	})()
	ivl := time.Hour
	for _, in := range r.instances {
		ivl = min(ivl, in.cfg.Interval)
	}
	grid := rxGrid(ivl)
	evs := make([]unix.EpollEvent, len(r.rconns)+1)
	timeout := -1
	for {
		n, err := unix.EpollWait(ep, evs, timeout)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		if n == 0 { // a quiet grid tick: block until the next advert
			timeout = -1
			continue
		}
		for _, ev := range evs[:n] {
			if ev.Fd >= 0 {
				r.drain(r.rconns[ev.Fd])
			}
		}
		// More adverts are likely to follow: take them on the grid.
		timeout = 0
		time.Sleep(grid)
	}
}

// drainAll reads and delivers whatever waits on every receiving socket.
func (r *Router) drainAll() {
	for _, c := range r.rconns {
		r.drain(c)
	}
}

// drain reads and delivers whatever waits on c. The reader and the
// scheduler both drain; rxMu keeps the adverts of one socket in order.
func (r *Router) drain(c *rawConn) {
	r.rxMu.Lock()
	defer r.rxMu.Unlock()
	b := r.rx
	for {
		n, err := c.recv(b)
		if err != nil {
			if !errors.Is(err, unix.EBADF) {
				r.log.Warn("vrrp: read", "ifindex", c.key.ifindex, "err", err)
			}
			return
		}
		if n == 0 {
			return
		}
		now := time.Now()
		r.lock()
		for i := range n {
			r.deliver(c, b, i, now)
		}
		r.unlock()
		if n < rxBatchLen {
			return
		}
	}
}

// maxRxAge bounds how far back a kernel timestamp may place an advert;
// an older one (a clock step) counts as received now.
const maxRxAge = time.Second

// deliver checks the i-th packet of b and hands it to its instance; it
// runs inside an engine step. now is when b was read; the advert's time
// is the kernel's receive timestamp, carried over to now's monotonic
// clock.
func (r *Router) deliver(c *rawConn, b *rxBatch, i int, now time.Time) {
	msg, info, ts, err := c.packet(b, i)
	if err != nil {
		r.drops.Add(DropLength)
		return
	}
	at := now
	if ts > 0 {
		if age := now.Sub(time.Unix(0, ts)); age > 0 && age < maxRxAge {
			at = now.Add(-age)
		}
	}
	p := &b.pkt
	mode, reason := Parse(msg, info, p)
	if reason != DropNone {
		r.drops.Add(reason)
		return
	}
	in := c.insts[p.VRID]
	if in == nil {
		r.drops.Add(DropVRID)
		return
	}
	if reason := in.check(p, info); reason != DropNone {
		in.stats.drops.Add(reason)
		return
	}
	if mode == ChecksumMessageOnly && p.Version == 3 {
		in.stats.checksumMessageOnly.Add(1)
	} else if p.Version == 3 {
		in.stats.checksumPseudo.Add(1)
	}
	in.stats.received.Add(1)
	in.handle(event{kind: evAdvert, at: at, src: info.Src, prio: p.Priority, ivl: p.Interval})
}

// check runs the instance's receive checks on an advert, with the address
// list compared as CheckAddrs and CheckNewMasterAddrs say.
func (in *Instance) check(p *Packet, info RecvInfo) DropReason {
	if in.cfg.CheckNewMasterAddrs && !in.expect.CheckAddrs && checkAddrsFrom(in.m.State(), in.m.Master(), info.Src) {
		e := in.expect
		e.CheckAddrs = true
		return e.Check(p, info)
	}
	return in.expect.Check(p, info)
}
