package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Checker probes one target once. Check must return when ctx is done; it
// never panics on bad input from the peer and reports every failure as a
// down Result with a Reason.
type Checker interface {
	Check(ctx context.Context) Result
}

// CheckerFunc adapts a function to the Checker interface.
type CheckerFunc func(ctx context.Context) Result

// Check calls f(ctx).
func (f CheckerFunc) Check(ctx context.Context) Result { return f(ctx) }

// Result is the outcome of one check.
type Result struct {
	// Up reports whether the target passed the check.
	Up bool
	// Reason says why, in a few words ("connect: connection refused",
	// "status 503 not in 200-299"). Always set when Up is false.
	Reason string
	// Err is the underlying error, if any, for errors.Is / errors.As.
	Err error
	// Latency is the time the check took.
	Latency time.Duration
	// Weight is a weight reported by a dynamic check (MISC_CHECK with
	// misc_dynamic, FILE_CHECK, HAProxy agent); unset otherwise.
	Weight Weight
	// Admin is an administrative state reported by a HAProxy agent.
	Admin Admin
	// MaxConn is a maxconn reported by a HAProxy agent; 0 means none.
	MaxConn int
}

// Weight is a dynamic weight carried by a Result.
type Weight struct {
	// Set reports whether the check reported a weight at all.
	Set bool
	// Percent reports whether Value is a percentage of the configured
	// weight (HAProxy agent "75%") rather than an absolute weight.
	Percent bool
	// Value is the weight or percentage.
	Value int
}

// String formats w as "none", "N" or "N%".
func (w Weight) String() string {
	switch {
	case !w.Set:
		return "none"
	case w.Percent:
		return fmt.Sprintf("%d%%", w.Value)
	}
	return fmt.Sprint(w.Value)
}

// Admin is an administrative state a HAProxy agent can request.
type Admin uint8

// Administrative states, as in HAProxy's agent protocol.
const (
	AdminNone  Admin = iota // the agent said nothing about it
	AdminReady              // "ready": leave drain and maintenance
	AdminDrain              // "drain": weight 0, keep existing sessions
	AdminMaint              // "maint": maintenance, no traffic
)

var adminNames = [...]string{"", "ready", "drain", "maint"}

// String returns the agent keyword for a, or "" for AdminNone.
func (a Admin) String() string {
	if int(a) < len(adminNames) {
		return adminNames[a]
	}
	return fmt.Sprintf("Admin(%d)", a)
}

// ErrCheck marks a target that answered but failed the check's criteria
// (wrong status, digest mismatch, bad banner). Transport failures carry the
// net / os error instead.
var ErrCheck = errors.New("check: check failed")

// up returns a passing Result.
func up(start time.Time) Result {
	return Result{Up: true, Latency: time.Since(start)}
}

// down returns a failing Result whose Reason is "what: err".
func down(start time.Time, what string, err error) Result {
	r := Result{Latency: time.Since(start), Err: err}
	switch {
	case err == nil:
		r.Reason = what
	case what == "":
		r.Reason = err.Error()
	case strings.HasPrefix(err.Error(), what+": "):
		// A system call error already names the call ("connect:
		// connection refused"): say it once.
		r.Reason = err.Error()
	default:
		r.Reason = what + ": " + err.Error()
	}
	return r
}

// failf returns a failing Result for a peer that broke the check's rules.
func failf(start time.Time, format string, args ...any) Result {
	msg := fmt.Sprintf(format, args...)
	return Result{Latency: time.Since(start), Reason: msg, Err: fmt.Errorf("%w: %s", ErrCheck, msg)}
}

// defaultTimeout is used by checkers whose Timeout is zero; keepalived's
// connect_timeout defaults to 5 s.
const defaultTimeout = 5 * time.Second

func timeoutOr(d time.Duration) time.Duration {
	if d <= 0 {
		return defaultTimeout
	}
	return d
}

// dial opens the connection a check talks over: the returned context
// carries the check's timeout, the connection's I/O ends when that context
// does, and done releases everything.
func dial(ctx context.Context, network string, addr, bind netip.AddrPort, timeout time.Duration) (_ context.Context, _ net.Conn, done func(), _ error) {
	ctx, cancel := withDeadline(ctx, timeout)
	// No keepalive: a check's connection lives for one exchange, and the
	// setsockopt calls cost more than the exchange on loopback.
	d := net.Dialer{KeepAlive: -1}
	if bind.Addr().IsValid() || bind.Port() != 0 {
		if network == "udp" {
			d.LocalAddr = net.UDPAddrFromAddrPort(bind)
		} else {
			d.LocalAddr = net.TCPAddrFromAddrPort(bind)
		}
	}
	conn, err := d.DialContext(ctx, network, addr.String())
	if err != nil {
		cancel()
		return ctx, nil, nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return ctx, conn, func() {
		stop()
		if tc, ok := conn.(*net.TCPConn); ok {
			// Reset rather than a FIN exchange: the check is over either
			// way, and no TIME_WAIT socket stays behind.
			tc.SetLinger(0)
		}
		conn.Close()
		cancel()
	}, nil
}

// withDeadline gives ctx the check's timeout (5 s when zero).
func withDeadline(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, timeoutOr(timeout))
}

// ioErr turns an I/O error that happened because ctx expired (deadline
// passed or cancelled) into ctx's own error, so that reasons read "context
// deadline exceeded" consistently and errors.Is finds it. A read cut short
// by the deadline can surface as a confusing parse error otherwise.
func ioErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	ce := ctx.Err()
	if ce == nil {
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			ce = context.DeadlineExceeded
		}
	}
	return withCause(ce, err)
}

// withCause makes cause, if not nil, the error err reads as, keeping err's
// text beside it; see ioErr.
func withCause(cause, err error) error {
	if cause == nil || errors.Is(err, cause) {
		return err
	}
	return fmt.Errorf("%w (%v)", cause, err)
}
