//go:build !unix

package haproxy

// openNonBlock is 0 where there are no FIFOs to block on.
const openNonBlock = 0
