package ipvs

import (
	"errors"
	"fmt"
	"syscall"
)

// Sentinel errors. Errors returned by the Client wrap one of these where the
// kernel's answer has that meaning, and also the raw syscall.Errno, so both
// errors.Is(err, ipvs.ErrExists) and errors.Is(err, syscall.EEXIST) work.
var (
	// ErrExists: the service, destination or sync daemon already exists.
	ErrExists = errors.New("ipvs: already exists")
	// ErrNotFound: the service or destination does not exist.
	ErrNotFound = errors.New("ipvs: not found")
	// ErrNoScheduler: the kernel has no scheduler (or persistence engine)
	// of that name.
	ErrNoScheduler = errors.New("ipvs: no such scheduler or persistence engine")
	// ErrInvalid: the kernel or the client rejected an argument.
	ErrInvalid = errors.New("ipvs: invalid argument")
	// ErrNotSupported: IPVS is not available (no ip_vs module, or not Linux).
	ErrNotSupported = errors.New("ipvs: not supported")
	// ErrPermission: the caller lacks CAP_NET_ADMIN.
	ErrPermission = errors.New("ipvs: permission denied")
	// ErrDecode: a netlink message from the kernel could not be decoded.
	ErrDecode = errors.New("ipvs: malformed netlink data")
)

// OpError is the error of one IPVS command: which command, on what, and the
// kernel's answer.
type OpError struct {
	Op          string       // "new-service", "del-dest", ...
	Service     *ServiceKey  // the service concerned, if any
	Destination *Destination // the destination concerned, if any
	Err         error        // the errno or decoding error
}

// Error formats the command, its object and the cause.
func (e *OpError) Error() string {
	s := "ipvs: " + e.Op
	if e.Service != nil {
		s += " " + e.Service.String()
	}
	if e.Destination != nil {
		s += " -> " + e.Destination.Addr.String()
	}
	if sent := e.sentinel(); sent != nil && sent != ErrDecode {
		return s + ": " + e.Err.Error() + " (" + sent.Error()[len("ipvs: "):] + ")"
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the cause and the matching sentinel.
func (e *OpError) Unwrap() []error {
	if s := e.sentinel(); s != nil {
		return []error{e.Err, s}
	}
	return []error{e.Err}
}

// sentinel maps the kernel's errno to a sentinel, using the command to tell
// ENOENT apart (a missing scheduler on service commands, a missing
// destination on destination commands).
func (e *OpError) sentinel() error {
	var errno syscall.Errno
	if !errors.As(e.Err, &errno) {
		return nil
	}
	switch errno {
	case syscall.EEXIST:
		return ErrExists
	case syscall.ESRCH:
		return ErrNotFound
	case syscall.ENOENT:
		if e.Op == "new-service" || e.Op == "set-service" {
			return ErrNoScheduler
		}
		return ErrNotFound
	case syscall.EINVAL, syscall.ERANGE, syscall.EAFNOSUPPORT:
		return ErrInvalid
	case syscall.EPERM, syscall.EACCES:
		return ErrPermission
	}
	return nil
}

// decodeError builds an error for malformed kernel data, naming the field.
func decodeError(field string, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrDecode, field, fmt.Sprintf(format, args...))
}
