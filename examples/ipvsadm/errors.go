package main

import (
	"errors"
	"strings"
	"syscall"

	"github.com/lvskit/lvskit/ipvs"
)

// ipvsadm 1.31's exit statuses, measured against it in the guest.
const (
	exitOK      = 0
	exitList    = 1   // a listing of one service that does not exist
	exitUsage   = 2   // a bad command line (fail(2, ...) in ipvsadm.c)
	exitCommand = 255 // the kernel refused a command (ipvsadm returns -1)
)

// exitError is an error printed as msg with the exit status code.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// usageError makes a command-line error exit with status 2.
func usageError(err error) error {
	var ee *exitError
	if err == nil || errors.As(err, &ee) || errors.Is(err, errUsage) {
		return err
	}
	return &exitError{exitUsage, err.Error()}
}

// errUnknownOption: an option ipvsadm does not have, or an option without
// its argument; ipvsadm (popt) then prints only a pointer to the help and
// exits 255 (in -R input it prints "OPT: unknown option" and goes on).
var errUnknownOption = &exitError{exitCommand, "Try `ipvsadm -h' or 'ipvsadm --help' for more information."}

// unknownOptionError is errUnknownOption naming the option.
type unknownOptionError struct{ opt string }

func (e *unknownOptionError) Error() string { return errUnknownOption.msg }
func (e *unknownOptionError) Unwrap() error { return errUnknownOption }

// kernelMessages are ipvsadm's texts for an errno returned by one command
// (libipvs's ipvs_strerror); the empty command matches every command.
var kernelMessages = []struct {
	op    string
	errno syscall.Errno
	msg   string
}{
	{"new-service", syscall.EEXIST, "Service already exists"},
	{"new-service", syscall.ENOENT, "Scheduler or persistence engine not found"},
	{"set-service", syscall.ESRCH, "No such service"},
	{"set-service", syscall.ENOENT, "Scheduler or persistence engine not found"},
	{"del-service", syscall.ESRCH, "No such service"},
	{"zero", syscall.ESRCH, "No such service"},
	{"new-dest", syscall.ESRCH, "Service not defined"},
	{"new-dest", syscall.EEXIST, "Destination already exists"},
	{"set-dest", syscall.ESRCH, "Service not defined"},
	{"set-dest", syscall.ENOENT, "No such destination"},
	{"del-dest", syscall.ESRCH, "Service not defined"},
	{"del-dest", syscall.ENOENT, "No such destination"},
	{"new-daemon", syscall.EEXIST, "Daemon has already run"},
	{"del-daemon", syscall.ESRCH, "No daemon is running"},
	{"get-service", syscall.ESRCH, "No such service"},
	{"get-service", syscall.ENOENT, "No such service"},
	{"get-dest", syscall.ESRCH, "No such service"},
	{"", syscall.EPERM, "Permission denied (you must be root)"},
	{"", syscall.EINVAL, "Invalid operation.  Possibly wrong module version, address not unicast, ..."},
	{"", syscall.ENOPROTOOPT, "Protocol not available"},
	{"", syscall.ENOMEM, "Memory allocation problem"},
	{"", syscall.EOPNOTSUPP, "Operation not supported with IPv6"},
	{"", syscall.EAFNOSUPPORT, "Operation not supported with specified address family"},
	{"", syscall.EMSGSIZE, "Module is wrong version"},
}

// kernelMessage returns ipvsadm's text for the kernel's answer to op.
func kernelMessage(op string, errno syscall.Errno) string {
	for _, m := range kernelMessages {
		if (m.op == "" || m.op == op) && m.errno == errno {
			return m.msg
		}
	}
	// C's strerror: Go's texts are C's with a lower-case first letter.
	s := errno.Error()
	return strings.ToUpper(s[:1]) + s[1:]
}

// describe returns the text and exit status ipvsadm 1.31 gives err.
func describe(err error) (string, int) {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.msg, ee.code
	}
	var oe *ipvs.OpError
	var errno syscall.Errno
	if errors.As(err, &oe) && errors.As(oe.Err, &errno) {
		return kernelMessage(oe.Op, errno), exitCommand
	}
	return err.Error(), exitCommand
}
