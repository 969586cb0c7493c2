package check

import (
	"bytes"
	"context"
	"io"
	"os"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// quickCheck implements quickChecker for plain HTTP (no TLS, no bind):
// the connection, the request and the response run as a pollOp on the
// Monitor's loop, without a goroutine. The response is judged by the same
// code as Check's, over the bytes read.
func (c *HTTP) quickCheck(q *quickState) (Result, Checker, bool) {
	if !q.poll || c.TLS || c.Bind.IsValid() || !c.Addr.IsValid() {
		return Result{}, nil, false
	}
	start := time.Now()
	// The socket is set up like a TCP check's: the handshake's final ACK
	// waits for the request and goes out with it (HAProxy's HTTP checks
	// do the same with TCP_QUICKACK off), one packet less for both sides.
	fd, err := q.take(c.Addr)
	if err != nil {
		return down(start, "connect", err), nil, true
	}
	switch err := connectTo(fd, c.Addr); err {
	case nil, unix.EINPROGRESS, unix.EALREADY, unix.EISCONN:
	default:
		unix.Close(fd)
		return down(start, "connect", os.NewSyscallError("connect", err)), nil, true
	}
	f := q.flight()
	*f = httpFlight{c: c, fd: fd, q: q, req: q.request(c), start: start, dl: start.Add(timeoutOr(c.Timeout))}
	// The request goes out at once, without asking whether the handshake
	// is done: on loopback and fast links the kernel has finished it
	// before connect returns, and a write on a socket still connecting
	// says so (EAGAIN), as one that failed to connect says why.
	if r, done := f.write(); done {
		f.recycle(q)
		return r, nil, true
	}
	return Result{}, f, false
}

// httpFlight is an HTTP check in flight on the Monitor's loop.
type httpFlight struct {
	c     *HTTP
	fd    int
	q     *quickState // where the loop keeps sockets for reuse
	state uint8
	req   []byte // shared with the loop's cache: read only
	sent  int
	buf   []byte
	// pooled is the loop's buffer that buf was cut from, if any.
	pooled []byte
	start  time.Time
	dl     time.Time
}

// httpFlight states.
const (
	flightWrite uint8 = iota
	flightConnect
	flightRead
)

// flight returns an httpFlight kept for reuse, or a new one: no
// allocation per check.
func (q *quickState) flight() *httpFlight {
	if n := len(q.httpFree); n > 0 {
		f := q.httpFree[n-1]
		q.httpFree = q.httpFree[:n-1]
		return f
	}
	return new(httpFlight)
}

// recycle implements recycler: f, finished and released, is kept in q
// for the next check.
func (f *httpFlight) recycle(q *quickState) {
	*f = httpFlight{}
	if len(q.httpFree) < maxFlights {
		q.httpFree = append(q.httpFree, f)
	}
}

// answerWait is how long after its start a check whose request is out
// is first tried again, before its socket is watched.
const answerWait = 500 * time.Microsecond

// retryAt implements deferrer: a flight whose request is out is tried
// again before its socket is watched; one still connecting or writing
// waits on epoll at once.
func (f *httpFlight) retryAt() time.Time {
	if f.state != flightRead {
		return time.Time{}
	}
	return f.start.Add(answerWait)
}

// Check is the worker's way to run the check, should the loop not wait
// on it (it always does: quickCheck offers a flight only to a loop that
// polls). It starts afresh.
func (f *httpFlight) Check(ctx context.Context) Result {
	f.buf, f.pooled = nil, nil // the loop's buffer stays the loop's
	f.release(false)
	return f.c.Check(ctx)
}

func (f *httpFlight) pollFD() (int, uint32) {
	if f.state == flightRead {
		return f.fd, unix.EPOLLIN | unix.EPOLLRDHUP
	}
	return f.fd, unix.EPOLLOUT
}

func (f *httpFlight) deadline() time.Time { return f.dl }

func (f *httpFlight) ready(*quickState) (Result, bool) {
	if f.state == flightRead {
		return f.read()
	}
	return f.write()
}

// write sends what is left of the request. Until a first byte went out
// the connection is not known to be established: a write that cannot
// send anything then is waiting for the handshake (an established
// socket with an empty send buffer takes something), and one that
// fails tells why the connect failed.
func (f *httpFlight) write() (Result, bool) {
	for f.sent < len(f.req) {
		n, err := write(f.fd, f.req[f.sent:])
		switch {
		case err == unix.EAGAIN:
			if f.sent == 0 {
				f.state = flightConnect
			} else {
				f.state = flightWrite
			}
			return Result{}, false
		case err == unix.EINTR:
			continue
		case err != nil && f.sent == 0:
			f.release(false)
			return down(f.start, "connect", os.NewSyscallError("connect", err)), true
		case err != nil:
			f.release(false)
			return down(f.start, "write request", os.NewSyscallError("write", err)), true
		}
		f.sent += n
	}
	f.state = flightRead
	return Result{}, false
}

// write and read are write(2) and read(2) as raw system calls, as
// connectTo is: on a non-blocking socket they never sleep.
func write(fd int, b []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func read(fd int, b []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// read takes in what the server sent; the response is judged at its end:
// the connection closed, the read limit reached, or a response whose
// length is known complete.
func (f *httpFlight) read() (Result, bool) {
	limit := int(f.c.readLimit())
	for {
		if len(f.buf) == cap(f.buf) {
			if len(f.buf) >= limit {
				return f.judge(nil, nil), true
			}
			if f.buf == nil {
				f.pooled = f.q.buffer()
				f.buf = f.pooled[:0:min(cap(f.pooled), limit)]
			} else {
				f.buf = append(make([]byte, 0, min(2*cap(f.buf), limit)), f.buf...)
			}
		}
		space := cap(f.buf) - len(f.buf)
		n, err := read(f.fd, f.buf[len(f.buf):cap(f.buf)])
		switch {
		case err == unix.EAGAIN:
			if responseComplete(f.buf) {
				return f.judge(nil, nil), true
			}
			return Result{}, false
		case err == unix.EINTR:
			continue
		case err != nil:
			return f.judge(os.NewSyscallError("read", err), nil), true
		case n == 0:
			return f.judge(nil, nil), true
		}
		f.buf = f.buf[:len(f.buf)+n]
		if n < space {
			// The kernel had no more; if no more is needed, no read for
			// the end of the stream.
			if code, ok := f.c.fastStatus(f.buf, false); ok {
				return f.verdict(code), true
			}
			if responseComplete(f.buf) {
				return f.judge(nil, nil), true
			}
		}
	}
}

func (f *httpFlight) expire(_ *quickState, err error) Result {
	switch f.state {
	case flightConnect:
		f.release(false)
		return down(f.start, "connect", err)
	case flightWrite:
		f.release(false)
		return down(f.start, "write request", err)
	}
	if err != errTimeout {
		return f.judge(err, nil)
	}
	// What came before the deadline counts, as a blocking read returns
	// it: a deferred flight (see retryAt) may not have looked yet.
	if r, done := f.read(); done {
		return r
	}
	// Judge what came, cut short as a deadline cuts a blocking read; as
	// Check does (see ioErr), the deadline is the reason, whatever the
	// parser made of the cut.
	return f.judge(context.DeadlineExceeded, func(err error) error {
		return withCause(context.DeadlineExceeded, err)
	})
}

// judge decides the check on the bytes read, followed by err (or the end
// of the stream), and releases the flight; wrap, if not nil, explains
// read errors.
func (f *httpFlight) judge(err error, wrap func(error) error) Result {
	if err == nil {
		if code, ok := f.c.fastStatus(f.buf, true); ok {
			return f.verdict(code)
		}
	}
	var r io.Reader = bytes.NewReader(f.buf)
	if err != nil {
		r = io.MultiReader(r, errReader{err})
	}
	if wrap == nil {
		wrap = func(err error) error { return err }
	}
	res := f.c.judge(f.start, r, wrap)
	f.release(err == nil)
	return res
}

// verdict decides the check on the status code fastStatus read, and
// releases the flight.
func (f *httpFlight) verdict(code int) Result {
	res := up(f.start)
	if !f.c.Status.Match(code) {
		res = failf(f.start, "status %d not in %s", code, f.c.Status)
	}
	f.release(true)
	return res
}

// release lets go of the socket, back to the loop for reuse after a clean
// exchange (a disconnect resets the connection, as a close would), and of
// the buffer.
func (f *httpFlight) release(reuse bool) {
	if f.fd >= 0 {
		if reuse {
			f.q.put(f.fd, f.c.Addr)
		} else {
			unix.Close(f.fd)
		}
		f.fd = -1
	}
	f.buf = nil
	if f.pooled != nil {
		if len(f.q.httpBufs) < maxSpareBufs {
			f.q.httpBufs = append(f.q.httpBufs, f.pooled)
		}
		f.pooled = nil
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// flightBuf is the size of the loop's buffers responses are read into;
// larger responses grow their own.
const flightBuf = 4096

// maxSpareBufs bounds the read buffers the loop keeps: as many as
// answers it usually reads at once, far fewer than the checks in flight.
const maxSpareBufs = 64

// buffer returns a read buffer kept for reuse, or a new one.
func (q *quickState) buffer() []byte {
	if n := len(q.httpBufs); n > 0 {
		b := q.httpBufs[n-1]
		q.httpBufs = q.httpBufs[:n-1]
		return b
	}
	return make([]byte, flightBuf)
}

// responseComplete reports whether b holds a whole response whose end is
// known without the connection closing: its headers and, as
// Content-Length says, its body. Chunked and close-delimited bodies wait
// for the close.
func responseComplete(b []byte) bool {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return false
	}
	head, body := b[:end], len(b)-end-4
	// Status codes without a body.
	if sp := bytes.IndexByte(head, ' '); sp >= 0 && len(head) >= sp+4 {
		if code := head[sp+1 : sp+4]; code[0] == '1' || string(code) == "204" || string(code) == "304" {
			return true
		}
	}
	length := -1
	for line := range bytes.SplitSeq(head, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		switch {
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return false
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
			if err != nil || n < 0 || length >= 0 && n != length {
				return false // let the close and the parser decide
			}
			length = n
		}
	}
	return length >= 0 && body >= length
}
