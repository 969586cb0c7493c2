package check

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// TCP is keepalived's TCP_CHECK: the target is up when a TCP connection to
// Addr completes within Timeout.
type TCP struct {
	// Addr is connect_ip and connect_port.
	Addr netip.AddrPort
	// Bind is bindto and bind_port; the zero value lets the kernel choose.
	Bind netip.AddrPort
	// Timeout is connect_timeout; zero means 5 s.
	Timeout time.Duration
}

// Check connects and closes at once: a half-open check (see probeTCP).
//
// It drives a non-blocking socket itself on Go's poller rather than using
// net.Dialer: a check needs no resolver, keepalive options, local address
// lookup or context-watching goroutine, and at ten thousand checks a
// second those dominate the cost. The close resets the connection
// (SO_LINGER 0) so that no TIME_WAIT sockets pile up.
func (c TCP) Check(ctx context.Context) Result {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return down(start, "connect", err)
	}
	deadline := start.Add(timeoutOr(c.Timeout))
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	if err := probeTCP(ctx, c.Addr, c.Bind, deadline); err != nil {
		return down(start, "connect", err)
	}
	return up(start)
}

// errTimeout is returned when a probe's deadline passes.
var errTimeout = fmt.Errorf("timeout: %w", context.DeadlineExceeded)

func sockaddr(ap netip.AddrPort) (syscall.Sockaddr, int) {
	a := ap.Addr()
	if a.Is4() || a.Is4In6() {
		return &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: a.Unmap().As4()}, syscall.AF_INET
	}
	sa := &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
	if z := a.Zone(); z != "" {
		// Numeric zones only; names would need an interface lookup.
		fmt.Sscan(z, &sa.ZoneId)
	}
	return sa, syscall.AF_INET6
}

// probeTCP completes one TCP handshake to addr and resets the connection.
func probeTCP(ctx context.Context, addr, bind netip.AddrPort, deadline time.Time) error {
	if !addr.IsValid() {
		return errors.New("no address")
	}
	sa, family := sockaddr(addr)
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	// Quick ACKs off, as HAProxy does for its checks: the kernel then holds
	// back the handshake's final ACK (hoping to send it with data), our
	// close resets the connection first, and the server sees SYN, SYN-ACK,
	// RST. It never accepts a connection, and neither side builds one.
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 0)
	if bind.IsValid() {
		bsa, _ := sockaddr(bind)
		if err := syscall.Bind(fd, bsa); err != nil {
			syscall.Close(fd)
			return os.NewSyscallError("bind", err)
		}
	}
	err = syscall.Connect(fd, sa)
	if err != nil && err != syscall.EINPROGRESS {
		syscall.Close(fd)
		return os.NewSyscallError("connect", err)
	}
	// On loopback and fast links the handshake is often complete by now;
	// then the poller is not needed at all.
	if done, err := connected(fd); done {
		if err == nil {
			syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 0})
		}
		syscall.Close(fd)
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
		done, err := connected(int(fd))
		connErr = err
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
	if connErr != nil {
		return connErr
	}
	rc.Control(func(fd uintptr) {
		syscall.SetsockoptLinger(int(fd), syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 0})
	})
	return nil
}

// connected reports whether a non-blocking connect on fd has finished, and
// how.
func connected(fd int) (bool, error) {
	v, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
	switch {
	case err != nil:
		return true, os.NewSyscallError("getsockopt", err)
	case v != 0:
		return true, os.NewSyscallError("connect", syscall.Errno(v))
	}
	// No error yet: connected, or still in progress.
	if _, err := syscall.Getpeername(fd); err == syscall.ENOTCONN {
		return false, nil
	}
	return true, nil
}
