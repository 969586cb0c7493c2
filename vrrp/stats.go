package vrrp

import "sync/atomic"

// instanceStats are an instance's counters: written by the engine and the
// action goroutine, read by Stats from any goroutine.
type instanceStats struct {
	state               atomic.Uint32
	prio                atomic.Uint32
	transitions         atomic.Uint64
	sent                atomic.Uint64
	sendErrors          atomic.Uint64
	received            atomic.Uint64
	checksumPseudo      atomic.Uint64
	checksumMessageOnly atomic.Uint64
	garps               atomic.Uint64
	drops               DropCounters
}

// Stats is a snapshot of an instance's metrics.
type Stats struct {
	State    State
	Priority uint8
	// Transitions counts state changes.
	Transitions uint64
	// AdvertsSent and AdvertsReceived count advertisements (received:
	// valid ones handed to the state machine).
	AdvertsSent, AdvertsReceived uint64
	// SendErrors counts adverts the kernel refused.
	SendErrors uint64
	// ChecksumPseudoHeader and ChecksumMessageOnly count VRRPv3 adverts by
	// the checksum dialect they arrived in.
	ChecksumPseudoHeader, ChecksumMessageOnly uint64
	// Announcements counts gratuitous ARPs / unsolicited NAs sent.
	Announcements uint64
	// Drops counts adverts for this instance dropped, per reason.
	Drops map[DropReason]uint64
}
