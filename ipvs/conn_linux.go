//go:build linux

package ipvs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/socket"
	"golang.org/x/sys/unix"
)

// Netlink header constants.
const (
	nlmsgHdrLen   = 16
	genlHdrLen    = 4
	nlmsgError    = 2
	nlmsgDone     = 3
	nlmFRequest   = 0x1
	nlmFAck       = 0x4
	nlmFDump      = 0x300
	solNetlink    = 270
	netlinkCapAck = 10

	// sendBatchBytes bounds one sendmsg of pipelined requests, well below
	// the default socket send buffer.
	sendBatchBytes = 64 << 10
	// mutateWindow bounds the requests in flight. Dumps go one at a time:
	// a netlink socket runs one dump, which ends only once read.
	mutateWindow = 256
	dumpWindow   = 1
	// readBufferBytes is asked for the socket's receive buffer, so that
	// the replies of a full window fit.
	readBufferBytes = 8 << 20
	// recvSlots datagrams are read per recvmmsg call, into slots of
	// conn.slot bytes.
	recvSlots = 16
	// skbOverhead is what the kernel keeps at the end of every socket
	// buffer (struct skb_shared_info, cache-aligned: 320 bytes on 64-bit
	// Linux with 17 fragments).
	skbOverhead = 320
)

// dumpSlotBytes is the receive slot size: the kernel's NLMSG_GOODSIZE, a
// page less skbOverhead. The kernel sizes each part of a dump by the
// largest read the socket has made, but never below NLMSG_GOODSIZE; a slot
// of exactly that size keeps every part in one page of kernel memory
// instead of a multi-page allocation, which makes the thousands of small
// destination dumps of a Dump markedly cheaper. A kernel whose parts turn
// out larger (another skb_shared_info size) truncates a read; the conn
// then grows its slots to maxSlotBytes and repeats the dump.
func dumpSlotBytes() int {
	return min(os.Getpagesize(), 8192) - skbOverhead
}

// request is one netlink request and, after run, its outcome.
type request struct {
	cmd   uint8
	dump  bool
	attrs []byte
	// reply is called for each reply message's attributes.
	reply func(attrs []byte) error

	// reset, when set, undoes what reply did before the request is
	// repeated (after a truncated read).
	reset func()

	err   error // errno from the kernel, or a decoding error
	busy  bool  // a dump refused with EBUSY; retry alone
	trunc bool  // a reply did not fit a receive slot; retry with larger ones
	done  bool
	seq   uint32
}

// mmsghdr is struct mmsghdr of recvmmsg(2); Go pads it as C does.
type mmsghdr struct {
	Hdr unix.Msghdr
	Len uint32
}

// conn is one generic-netlink socket speaking IPVS. It pipelines requests:
// many in one sendmsg, replies matched by sequence number.
type conn struct {
	mu     sync.Mutex
	sock   *socket.Conn
	family uint16
	seq    uint32
	buf    []byte // recvSlots slots of slot bytes
	slot   int
	iov    [recvSlots]unix.Iovec
	mmsg   [recvSlots]mmsghdr
	out    []byte
	// dgrams and truncs are exchange's results, kept to be reused.
	dgrams [][]byte
	truncs []bool
	// sent counts requests sent, for tests that count operations.
	sent int
}

// dialConnSlot opens a socket in network namespace netns (0: the
// caller's), with receive slots of slot bytes.
func dialConnSlot(_ context.Context, netns int, slot int) (*conn, error) {
	g, err := genetlink.Dial(&netlink.Config{NetNS: netns})
	if err != nil {
		return nil, fmt.Errorf("ipvs: dial generic netlink: %w", err)
	}
	fam, err := g.GetFamily(genlName)
	g.Close()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOENT) {
			return nil, fmt.Errorf("%w: no generic netlink family %q (is ip_vs loaded?): %v", ErrNotSupported, genlName, err)
		}
		return nil, fmt.Errorf("ipvs: resolve family %q: %w", genlName, err)
	}
	return openConn(netns, fam.ID, slot)
}

// sibling opens another socket like c, in network namespace netns (the
// one c was opened in).
func (c *conn) sibling(netns int) (*conn, error) {
	return openConn(netns, c.family, dumpSlotBytes())
}

// openConn opens a socket speaking generic netlink family fam.
func openConn(netns int, fam uint16, slot int) (*conn, error) {
	s, err := socket.Socket(unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_GENERIC, "ipvs-netlink", &socket.Config{NetNS: netns})
	if err != nil {
		return nil, fmt.Errorf("ipvs: socket: %w", err)
	}
	if err := s.Bind(&unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		s.Close()
		return nil, fmt.Errorf("ipvs: bind: %w", err)
	}
	// Larger buffers let a window of pipelined replies queue up; the
	// forced variant needs CAP_NET_ADMIN, which IPVS needs anyway.
	if err := s.SetsockoptInt(unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, readBufferBytes); err != nil {
		_ = s.SetReadBuffer(readBufferBytes)
	}
	if err := s.SetsockoptInt(unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4*sendBatchBytes); err != nil {
		_ = s.SetWriteBuffer(4 * sendBatchBytes)
	}
	// Errors need not echo the whole request back.
	_ = s.SetsockoptInt(solNetlink, netlinkCapAck, 1)
	c := &conn{sock: s, family: fam}
	c.setSlot(slot)
	return c, nil
}

// setSlot sizes the receive slots.
func (c *conn) setSlot(slot int) {
	c.slot = slot
	c.buf = make([]byte, recvSlots*slot)
	for i := range c.iov {
		c.iov[i].Base = &c.buf[i*slot]
		c.iov[i].SetLen(slot)
		c.mmsg[i].Hdr.Iov = &c.iov[i]
		c.mmsg[i].Hdr.SetIovlen(1)
	}
}

// exchange sends out (when not empty) and then reads up to slots (at most
// recvSlots) datagrams with one recvmmsg call, waiting for the first; both system
// calls share one pass through the poller. The kernel answers a request
// while it handles the send, so the reply is usually queued by the time
// the read starts; a dump's last part is queued while its data is read,
// so one call usually returns both. A datagram that did not fit its slot
// is returned with truncated set.
func (c *conn) exchange(out []byte, slots int) (dgrams [][]byte, truncated []bool, err error) {
	rc, err := c.sock.SyscallConn()
	if err != nil {
		return nil, nil, err
	}
	var n int
	var sendErr, recvErr syscall.Errno
	err = rc.Read(func(fd uintptr) bool {
		for len(out) > 0 {
			// Without an address, a netlink send goes to the kernel.
			_, _, e := unix.Syscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&out[0])), uintptr(len(out)), 0, 0, 0)
			if e == unix.EINTR {
				continue
			}
			if e != 0 {
				sendErr = e
				return true
			}
			out = nil
		}
		for i := range c.mmsg {
			c.mmsg[i].Len = 0
			c.mmsg[i].Hdr.Flags = 0
		}
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&c.mmsg[0])), uintptr(slots),
			unix.MSG_DONTWAIT|unix.MSG_WAITFORONE, 0, 0)
		if e == unix.EAGAIN || e == unix.EINTR {
			return false
		}
		n, recvErr = int(r), e
		return true
	})
	switch {
	case err != nil:
		return nil, nil, err
	case sendErr != 0:
		return nil, nil, os.NewSyscallError("sendto", sendErr)
	case recvErr != 0:
		return nil, nil, os.NewSyscallError("recvmmsg", recvErr)
	}
	dgrams = c.dgrams[:0]
	truncated = c.truncs[:0]
	for i := 0; i < n; i++ {
		l := min(int(c.mmsg[i].Len), c.slot)
		dgrams = append(dgrams, c.buf[i*c.slot:i*c.slot+l])
		truncated = append(truncated, c.mmsg[i].Hdr.Flags&unix.MSG_TRUNC != 0)
	}
	c.dgrams, c.truncs = dgrams, truncated
	return dgrams, truncated, nil
}

func (c *conn) close() error { return c.sock.Close() }

// appendMsg appends one request to c.out; ack asks the kernel to confirm
// success too (it always reports failures).
func (c *conn) appendMsg(r *request, ack bool) {
	c.seq++
	if c.seq == 0 {
		c.seq = 1
	}
	r.seq = c.seq
	flags := uint16(nlmFRequest)
	if r.dump {
		flags |= nlmFDump
	} else if ack {
		flags |= nlmFAck
	}
	l := nlmsgHdrLen + genlHdrLen + len(r.attrs)
	c.out = native.AppendUint32(c.out, uint32(l))
	c.out = native.AppendUint16(c.out, c.family)
	c.out = native.AppendUint16(c.out, flags)
	c.out = native.AppendUint32(c.out, r.seq)
	c.out = native.AppendUint32(c.out, 0)
	c.out = append(c.out, r.cmd, genlVersion, 0, 0)
	c.out = append(c.out, r.attrs...)
	for len(c.out)%4 != 0 {
		c.out = append(c.out, 0)
	}
}

// run sends the requests and waits for every outcome. Dumps refused with
// EBUSY (another dump of this socket still running) are retried one at a
// time. A non-nil error means the exchange itself failed (socket error,
// cancelled context); per-request errors are in each request's err.
func (c *conn) run(ctx context.Context, reqs []*request) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The receive path waits through the poller; the context reaches it
	// as a read deadline.
	dl, _ := ctx.Deadline()
	if err := c.sock.SetReadDeadline(dl); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { c.sock.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	window := mutateWindow
	for _, r := range reqs {
		if r.dump {
			window = dumpWindow
			break
		}
	}
	if err := c.runWindowed(ctx, reqs, window); err != nil {
		return err
	}
	for _, r := range reqs {
		if !r.trunc {
			continue
		}
		// A reply did not fit: grow the slots for good (the kernel
		// sizes parts by the largest read) and repeat the request,
		// unless it is not a read (none is this large).
		if r.reply != nil {
			if c.slot < maxSlotBytes {
				c.setSlot(maxSlotBytes)
			}
			r.trunc, r.done, r.err = false, false, nil
			if r.reset != nil {
				r.reset()
			}
			if err := c.runWindowed(ctx, []*request{r}, 1); err != nil {
				return err
			}
		}
		if r.trunc {
			r.err = fmt.Errorf("%w: reply larger than %d bytes", ErrDecode, c.slot)
		}
	}
	for _, r := range reqs {
		if !r.busy {
			continue
		}
		// Retry alone; bounded so a kernel that keeps refusing cannot
		// spin forever.
		for try := 0; try < 100 && r.busy; try++ {
			r.busy, r.done, r.err = false, false, nil
			if err := c.runWindowed(ctx, []*request{r}, 1); err != nil {
				return err
			}
		}
		if r.busy {
			r.err = syscall.EBUSY
		}
	}
	return nil
}

func (c *conn) runWindowed(ctx context.Context, reqs []*request, window int) error {
	for start := 0; start < len(reqs); {
		c.out = c.out[:0]
		end := start
		for end < len(reqs) && end-start < window && (end == start || len(c.out) < sendBatchBytes) {
			end++
		}
		batch := reqs[start:end]
		// In a batch without dumps only the last request asks for an
		// acknowledgement: the kernel handles a sendmsg's requests in
		// order and reports every failure, so once the last one is
		// answered, the others that stayed silent succeeded. That saves
		// a receive per request.
		hasDump := false
		for _, r := range batch {
			hasDump = hasDump || r.dump
		}
		for i, r := range batch {
			c.appendMsg(r, hasDump || i == len(batch)-1)
		}
		c.sent += len(batch)
		if err := c.collect(ctx, batch, !hasDump); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// collect sends c.out and reads replies until every request of the batch
// is finished. With lastAcks, the last request's answer finishes the whole
// batch.
func (c *conn) collect(ctx context.Context, batch []*request, lastAcks bool) error {
	pending := len(batch)
	first := batch[0].seq
	last := batch[len(batch)-1]
	out := c.out
	for pending > 0 {
		if lastAcks && last.done {
			for _, r := range batch {
				r.done = true
			}
			return nil
		}
		// A dump of a few entries is two datagrams, its data and its
		// end: reading at most two at first spares the kernel a third
		// read that would find the queue empty. A longer dump is read
		// in bigger batches from then on.
		slots := recvSlots
		if !lastAcks && out != nil {
			slots = 2
		}
		dgrams, truncated, err := c.exchange(out, slots)
		out = nil
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("ipvs: netlink: %w", ctx.Err())
			}
			return fmt.Errorf("ipvs: netlink: %w", err)
		}
		for i, b := range dgrams {
			if truncated[i] {
				// The part is lost; its request is repeated with
				// larger slots once its dump has ended.
				c.truncated(b, batch, first, &pending)
				continue
			}
			if err := c.dispatch(b, batch, first, &pending); err != nil {
				return err
			}
		}
	}
	return nil
}

// truncated marks the request a truncated datagram answered, found by the
// sequence number of its first message.
func (c *conn) truncated(b []byte, batch []*request, first uint32, pending *int) {
	if len(b) < nlmsgHdrLen {
		return
	}
	if idx := native.Uint32(b[8:]) - first; idx < uint32(len(batch)) {
		r := batch[idx]
		r.trunc = true
		if !r.dump && !r.done {
			// No more parts follow: the request ends here.
			r.done = true
			*pending--
		}
	}
}

// dispatch hands the messages of one datagram to their requests.
func (c *conn) dispatch(b []byte, batch []*request, first uint32, pending *int) error {
	for len(b) >= nlmsgHdrLen {
		l := int(native.Uint32(b))
		typ := native.Uint16(b[4:])
		seq := native.Uint32(b[8:])
		if l < nlmsgHdrLen || l > len(b) {
			return fmt.Errorf("%w: netlink message length %d (of %d)", ErrDecode, l, len(b))
		}
		data := b[nlmsgHdrLen:l]
		if al := (l + 3) &^ 3; al < len(b) {
			b = b[al:]
		} else {
			b = nil
		}
		idx := int(seq - first)
		if seq-first >= uint32(len(batch)) || batch[idx].done {
			continue // not ours (or a late part of a finished one)
		}
		r := batch[idx]
		switch typ {
		case nlmsgError:
			if len(data) < 4 {
				return fmt.Errorf("%w: short netlink error message", ErrDecode)
			}
			errno := -int32(native.Uint32(data))
			if r.dump && errno == int32(unix.ENOBUFS) {
				// The dump started but could not queue its
				// first part; it resumes as we read.
				continue
			}
			if errno != 0 {
				if r.dump && errno == int32(unix.EBUSY) {
					r.busy = true
				} else {
					r.err = syscall.Errno(errno)
				}
			}
			r.done = true
			*pending--
		case nlmsgDone:
			if len(data) >= 4 {
				if errno := -int32(native.Uint32(data)); errno != 0 && r.err == nil {
					r.err = syscall.Errno(errno)
				}
			}
			r.done = true
			*pending--
		default:
			if typ != c.family || len(data) < genlHdrLen {
				continue
			}
			if r.reply != nil && r.err == nil && !r.trunc {
				if err := r.reply(data[genlHdrLen:]); err != nil {
					r.err = err
				}
			}
		}
	}
	return nil
}
