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
	// recvSlots datagrams of up to recvSlotBytes each are read per
	// recvmmsg call; the kernel's dump messages are at most 32 KiB.
	recvSlots     = 8
	recvSlotBytes = 64 << 10
)

// request is one netlink request and, after run, its outcome.
type request struct {
	cmd   uint8
	dump  bool
	attrs []byte
	// reply is called for each reply message's attributes.
	reply func(attrs []byte) error

	err  error // errno from the kernel, or a decoding error
	busy bool  // a dump refused with EBUSY; retry alone
	done bool
	seq  uint32
}

// conn is one generic-netlink socket speaking IPVS. It pipelines requests:
// many in one sendmsg, replies matched by sequence number.
type conn struct {
	mu     sync.Mutex
	sock   *socket.Conn
	family uint16
	seq    uint32
	buf    []byte // recvSlots slots of recvSlotBytes
	iov    [recvSlots]unix.Iovec
	mmsg   [recvSlots]unix.Mmsghdr
	out    []byte
	// sent counts requests sent, for tests that count operations.
	sent int
}

// dialConn opens the socket in network namespace netns (0: the caller's).
func dialConn(_ context.Context, netns int) (*conn, error) {
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
	c := &conn{sock: s, family: fam.ID, buf: make([]byte, recvSlots*recvSlotBytes)}
	for i := range c.iov {
		c.iov[i].Base = &c.buf[i*recvSlotBytes]
		c.iov[i].SetLen(recvSlotBytes)
		c.mmsg[i].Hdr.Iov = &c.iov[i]
		c.mmsg[i].Hdr.SetIovlen(1)
	}
	return c, nil
}

// recv reads up to recvSlots datagrams with one recvmmsg call, waiting for
// the first. A dump's last part is queued while its data is read, so one
// call usually returns both.
func (c *conn) recv() ([][]byte, error) {
	rc, err := c.sock.SyscallConn()
	if err != nil {
		return nil, err
	}
	var n int
	var errno syscall.Errno
	err = rc.Read(func(fd uintptr) bool {
		for i := range c.mmsg {
			c.mmsg[i].Len = 0
			c.mmsg[i].Hdr.Flags = 0
		}
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&c.mmsg[0])), recvSlots,
			unix.MSG_DONTWAIT|unix.MSG_WAITFORONE, 0, 0)
		if e == unix.EAGAIN || e == unix.EINTR {
			return false
		}
		n, errno = int(r), e
		return true
	})
	if err != nil {
		return nil, err
	}
	if errno != 0 {
		return nil, os.NewSyscallError("recvmmsg", errno)
	}
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		if c.mmsg[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
			return nil, fmt.Errorf("%w: reply larger than %d bytes", ErrDecode, recvSlotBytes)
		}
		out = append(out, c.buf[i*recvSlotBytes:i*recvSlotBytes+int(c.mmsg[i].Len)])
	}
	return out, nil
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
		if _, err := c.sock.Sendmsg(ctx, c.out, nil, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}, 0); err != nil {
			return fmt.Errorf("ipvs: send: %w", err)
		}
		c.sent += len(batch)
		if err := c.collect(ctx, batch, !hasDump); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// collect reads replies until every request of the batch is finished.
// With lastAcks, the last request's answer finishes the whole batch.
func (c *conn) collect(ctx context.Context, batch []*request, lastAcks bool) error {
	pending := len(batch)
	first := batch[0].seq
	last := batch[len(batch)-1]
	for pending > 0 {
		if lastAcks && last.done {
			for _, r := range batch {
				r.done = true
			}
			return nil
		}
		dgrams, err := c.recv()
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("ipvs: receive: %w", ctx.Err())
			}
			return fmt.Errorf("ipvs: receive: %w", err)
		}
		for _, b := range dgrams {
			if err := c.dispatch(b, batch, first, &pending); err != nil {
				return err
			}
		}
	}
	return nil
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
			if r.reply != nil && r.err == nil {
				if err := r.reply(data[genlHdrLen:]); err != nil {
					r.err = err
				}
			}
		}
	}
	return nil
}
