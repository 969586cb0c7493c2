package check

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// quickCheck implements quickChecker: it starts the handshake on a socket
// the Monitor's scheduler keeps between checks. A socket whose handshake
// completed is disconnected with connect(AF_UNSPEC), which resets the
// connection as a close with SO_LINGER 0 would and frees its local port,
// and is then reused: that saves the socket and close system calls and
// the kernel's socket set-up and tear-down, most of a loopback check's
// cost. A handshake still in flight is handed over with its socket.
func (c TCP) quickCheck(q *quickState) (Result, Checker, bool) {
	if c.Probe != ProbeConnect && q.poll && c.Addr.IsValid() {
		switch {
		case c.Bind.Port() != 0:
			if c.Probe == ProbeHalfOpen {
				return down(time.Now(), "half-open probe", errors.New("bind_port not supported: probes go out from ports of their own")), nil, true
			}
		default:
			w, r, done, err := q.raw.start(c)
			switch {
			case w != nil:
				return Result{}, w, false
			case done:
				return r, nil, true
			case c.Probe == ProbeHalfOpen:
				return down(time.Now(), "", err), nil, true
			}
			// No raw socket: connect.
		}
	}
	if c.Bind.IsValid() || !c.Addr.IsValid() {
		return Result{}, nil, false // a bound socket keeps its address: not shared
	}
	fd, err := q.take(c.Addr)
	if err != nil {
		return down(time.Now(), "connect", err), nil, true
	}
	switch err := startConnect(fd, c.Addr); err {
	case nil:
		q.put(fd, c.Addr)
		return Result{Up: true}, nil, true
	case unix.EALREADY:
		now := time.Now()
		return Result{}, &tcpWait{fd: fd, addr: c.Addr, start: now, dl: now.Add(timeoutOr(c.Timeout))}, false
	default:
		unix.Close(fd)
		return down(time.Now(), "connect", os.NewSyscallError("connect", err)), nil, true
	}
}

// tcpWait finishes a handshake that quickCheck started, owning its
// socket: as a Checker on a worker, or as a pollOp on the Monitor's loop.
type tcpWait struct {
	fd    int
	addr  netip.AddrPort
	start time.Time
	dl    time.Time
}

func (w *tcpWait) Check(ctx context.Context) Result {
	if err := waitConnect(ctx, w.fd, w.addr, w.dl); err != nil {
		return down(w.start, "connect", err)
	}
	return up(w.start)
}

func (w *tcpWait) pollFD() (int, uint32) { return w.fd, unix.EPOLLOUT }

func (w *tcpWait) deadline() time.Time { return w.dl }

func (w *tcpWait) ready(q *quickState) (Result, bool) {
	done, err := connectDone(w.fd, w.addr)
	switch {
	case !done:
		return Result{}, false
	case err != nil:
		unix.Close(w.fd)
		return down(w.start, "connect", err), true
	}
	q.put(w.fd, w.addr)
	return up(w.start), true
}

func (w *tcpWait) expire(_ *quickState, err error) Result {
	unix.Close(w.fd)
	return down(w.start, "connect", err)
}

// tcpSocket opens a non-blocking TCP socket for addr's family set up for
// half-open checks.
//
// TCP_DEFER_ACCEPT on a connecting socket makes the kernel hold back the
// handshake's final ACK, hoping to send it with data (HAProxy gets the same
// with TCP_QUICKACK off); our reset comes first, and the server sees SYN,
// SYN-ACK, RST. It never accepts a connection, and neither side builds
// one. Unlike TCP_QUICKACK, the setting survives a disconnect, so a reused
// socket needs no system call per check for it. The close, or the
// disconnect, resets the connection (SO_LINGER 0): no TIME_WAIT is left
// behind. HAProxy also closes its checks with a reset; keepalived's
// TCP_CHECK closes with SO_LINGER 5, a FIN exchange.
//
// Congestion control and the local port are left to the kernel: reno
// instead of the host's BBR, and a port pinned to the reused socket
// (no port search at connect, no release at disconnect), made no
// difference BenchmarkTCPQuickCheck could tell from noise. Nearly all of
// a loopback check's cost is the kernel's handshake for both ends.
func tcpSocket(addr netip.AddrPort) (int, error) {
	family := unix.AF_INET6
	if a := addr.Addr(); a.Is4() || a.Is4In6() {
		family = unix.AF_INET
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 1)
	return fd, nil
}

// startConnect starts a handshake on fd: nil when it completed at once
// (on loopback and fast links the kernel has often finished it before
// connect returns), EALREADY while it is in flight, or why it failed.
func startConnect(fd int, addr netip.AddrPort) error {
	err := connectTo(fd, addr)
	if err == unix.EINPROGRESS {
		// A second connect reports the state in one system call: 0 once
		// established, EALREADY while in flight, or the error.
		err = connectTo(fd, addr)
	}
	if err == unix.EISCONN {
		err = nil
	}
	return err
}

// connectDone asks the kernel about the handshake in flight on fd: done
// is false while it lasts; err tells why it failed.
func connectDone(fd int, addr netip.AddrPort) (done bool, err error) {
	switch err := connectTo(fd, addr); err {
	case unix.EALREADY, unix.EINPROGRESS:
		return false, nil
	case nil, unix.EISCONN:
		return true, nil
	default:
		return true, os.NewSyscallError("connect", err)
	}
}

// rawSockaddr fills sa with addr (an IPv4-mapped address as IPv4, a zone
// as the scope id) and returns its length, without allocating. A raw
// IPv6 socket wants port 0 (or its protocol) there.
func rawSockaddr(sa *unix.RawSockaddrAny, addr netip.AddrPort) uintptr {
	port := addr.Port()
	if a := addr.Addr(); a.Is4() || a.Is4In6() {
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		p.Family = unix.AF_INET
		*(*[2]byte)(unsafe.Pointer(&p.Port)) = [2]byte{byte(port >> 8), byte(port)}
		p.Addr = a.Unmap().As4()
		return unix.SizeofSockaddrInet4
	}
	a := addr.Addr()
	p := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
	p.Family = unix.AF_INET6
	*(*[2]byte)(unsafe.Pointer(&p.Port)) = [2]byte{byte(port >> 8), byte(port)}
	p.Addr = a.As16()
	if z := a.Zone(); z != "" {
		p.Scope_id = zoneID(z)
	}
	return unix.SizeofSockaddrInet6
}

// connectTo calls connect(2) with addr built on the stack: no allocation.
//
// The system calls of a check are raw (no scheduler hand-off): on a
// non-blocking socket they never sleep, and the runtime's bookkeeping
// around a normal system call, which lets another thread take over after
// 20 µs, costs more here than the calls themselves.
func connectTo(fd int, addr netip.AddrPort) error {
	var sa unix.RawSockaddrAny
	n := rawSockaddr(&sa, addr)
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), n)
	if e != 0 {
		return e
	}
	return nil
}

// disconnect dissolves fd's connection with connect(AF_UNSPEC): the kernel
// resets an established connection and the socket can connect again.
func disconnect(fd int) error {
	sa := unix.RawSockaddr{Family: unix.AF_UNSPEC}
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	if e != 0 {
		return e
	}
	return nil
}

// probeTCP completes one TCP handshake to addr and resets the connection.
func probeTCP(ctx context.Context, addr, bind netip.AddrPort, deadline time.Time) error {
	if !addr.IsValid() {
		return errors.New("no address")
	}
	fd, err := tcpSocket(addr)
	if err != nil {
		return err
	}
	if bind.IsValid() {
		bsa, _ := sockaddr(bind)
		if err := unix.Bind(fd, bsa); err != nil {
			unix.Close(fd)
			return os.NewSyscallError("bind", err)
		}
	}
	switch err := startConnect(fd, addr); err {
	case nil:
		unix.Close(fd)
		return nil
	case unix.EALREADY:
		return waitConnect(ctx, fd, addr, deadline)
	default:
		unix.Close(fd)
		return os.NewSyscallError("connect", err)
	}
}

// waitConnect waits on Go's poller for the handshake in flight on fd to
// finish, until deadline or ctx ends, and closes fd.
func waitConnect(ctx context.Context, fd int, addr netip.AddrPort, deadline time.Time) error {
	if err := ctx.Err(); err != nil {
		unix.Close(fd)
		return err
	}
	// The File owns fd from here and registers it with the poller.
	f := os.NewFile(uintptr(fd), "tcp-check")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	f.SetWriteDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	var connErr error
	werr := rc.Write(func(fd uintptr) bool {
		var done bool
		done, connErr = connectDone(int(fd), addr)
		return done
	})
	if werr != nil {
		if errors.Is(werr, os.ErrDeadlineExceeded) {
			if ce := ctx.Err(); ce != nil {
				return ce
			}
			return errTimeout
		}
		return werr
	}
	return connErr
}

// sockaddr converts ap for bind(2).
func sockaddr(ap netip.AddrPort) (unix.Sockaddr, int) {
	a := ap.Addr()
	if a.Is4() || a.Is4In6() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.Unmap().As4()}, unix.AF_INET
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
	if z := a.Zone(); z != "" {
		sa.ZoneId = zoneID(z)
	}
	return sa, unix.AF_INET6
}

// zoneID returns the interface index an IPv6 zone names: a number, or an
// interface name looked up; 0 if there is none.
func zoneID(z string) uint32 {
	if id, err := strconv.ParseUint(z, 10, 32); err == nil {
		return uint32(id)
	}
	if ifi, err := net.InterfaceByName(z); err == nil {
		return uint32(ifi.Index)
	}
	return 0
}
