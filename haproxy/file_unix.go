//go:build unix

package haproxy

import "syscall"

// openNonBlock keeps open from waiting for a writer should the path turn
// into a FIFO between the check and the open.
const openNonBlock = syscall.O_NONBLOCK
