//go:build linux

package ipvs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

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
	nlmFMulti     = 0x2
	nlmFAck       = 0x4
	nlmFDump      = 0x300
	solNetlink    = 270
	netlinkCapAck = 10

	// sendBatchBytes bounds one sendmsg of pipelined requests, well below
	// the default socket send buffer.
	sendBatchBytes = 64 << 10
	// mutateWindow and dumpWindow bound the requests in flight.
	mutateWindow = 256
	dumpWindow   = 32
	// readBufferBytes is asked for the socket's receive buffer, so that
	// the replies of a full window fit.
	readBufferBytes = 8 << 20
	recvBufBytes    = 1 << 20
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
	buf    []byte
	out    []byte
	// sent counts requests sent, for tests that count operations.
	sent int
}

// dialConn opens the socket in network namespace netns (0: the caller's).
func dialConn(ctx context.Context, netns int) (*conn, error) {
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
	_ = ctx
	return &conn{sock: s, family: fam.ID, buf: make([]byte, recvBufBytes)}, nil
}

func (c *conn) close() error { return c.sock.Close() }

// appendMsg appends one request to c.out.
func (c *conn) appendMsg(r *request) {
	c.seq++
	if c.seq == 0 {
		c.seq = 1
	}
	r.seq = c.seq
	flags := uint16(nlmFRequest)
	if r.dump {
		flags |= nlmFDump
	} else {
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
			c.appendMsg(reqs[end])
			end++
		}
		batch := reqs[start:end]
		if _, err := c.sock.Sendmsg(ctx, c.out, nil, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}, 0); err != nil {
			return fmt.Errorf("ipvs: send: %w", err)
		}
		c.sent += len(batch)
		if err := c.collect(ctx, batch); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// collect reads replies until every request of the batch is finished.
func (c *conn) collect(ctx context.Context, batch []*request) error {
	pending := len(batch)
	first := batch[0].seq
	for pending > 0 {
		n, _, _, _, err := c.sock.Recvmsg(ctx, c.buf, nil, unix.MSG_TRUNC)
		if err != nil {
			return fmt.Errorf("ipvs: receive: %w", err)
		}
		if n > len(c.buf) {
			return fmt.Errorf("%w: reply of %d bytes exceeds buffer", ErrDecode, n)
		}
		b := c.buf[:n]
		for len(b) >= nlmsgHdrLen {
			l := int(native.Uint32(b))
			typ := native.Uint16(b[4:])
			flags := native.Uint16(b[6:])
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
				pending--
			case nlmsgDone:
				if len(data) >= 4 {
					if errno := -int32(native.Uint32(data)); errno != 0 && r.err == nil {
						r.err = syscall.Errno(errno)
					}
				}
				r.done = true
				pending--
			default:
				if typ != c.family || len(data) < genlHdrLen {
					continue
				}
				if r.reply != nil && r.err == nil {
					if err := r.reply(data[genlHdrLen:]); err != nil {
						r.err = err
					}
				}
				_ = flags
			}
		}
	}
	return nil
}
