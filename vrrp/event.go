package vrrp

import (
	"net/netip"
	"time"
)

// eventKind says what an event reports to an instance's engine step.
type eventKind uint8

const (
	evAdvert eventKind = iota
	evTrack
	evGroupFault
	evForceMaster
	evForceBackup
	evDeleted // a tracked VIP, route or rule was deleted (key names it; empty from a sync group)
)

// event is one input to an instance's Machine: an advert heard, a tracked
// object's new status, a sync group's fault or order.
type event struct {
	kind  eventKind
	at    time.Time
	src   netip.Addr
	prio  uint8
	ivl   time.Duration
	key   string
	st    trackStatus
	fault bool
	// gen is the tracker generation a evTrack comes from; events of
	// trackers an Update replaced are ignored.
	gen uint64
}
