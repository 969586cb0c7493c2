package vrrp

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// ErrInvalid is wrapped by errors about configurations or packets that
// cannot be encoded.
var ErrInvalid = errors.New("vrrp: invalid")

// ErrAuthAH is returned for VRRPv2 packets or configurations using IP
// Authentication Header authentication, which RFC 3768 removed and
// lvskit (like keepalived 2.x on kernels without AH) does not implement.
var ErrAuthAH = errors.New("vrrp: IP AH authentication is not supported")

// ConfigError is a Config field Router.Add and Validate refuse. It
// matches ErrInvalid.
type ConfigError struct {
	// Instance is the Config's Name.
	Instance string
	// Field names the field, with its index for a slice
	// ("TrackScripts[1]").
	Field string
	// Msg says what is wrong with it.
	Msg string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("vrrp: instance %s: %s: %s", e.Instance, e.Field, e.Msg)
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalid }

// ErrClosed is returned by a Router's Add and Run after Close.
var ErrClosed = errors.New("vrrp: router closed")

// ErrRunning is returned by a second Run, and by Add and SyncGroup once
// Run was called.
var ErrRunning = errors.New("vrrp: router already running")

// DropReason says why a received packet was discarded.
type DropReason uint8

// Reasons a received advertisement is dropped (RFC 3768 7.1, RFC 9568 7.1).
const (
	DropNone         DropReason = iota // accepted
	DropTTL                            // IPv4 TTL or IPv6 hop limit is not 255
	DropVersion                        // version not 2/3 or not the configured one
	DropType                           // type is not advertisement
	DropLength                         // shorter than its address count needs
	DropAddrCount                      // address count zero or not ours (non-owner)
	DropChecksum                       // checksum wrong in every accepted dialect
	DropVRID                           // no instance with this VRID on the interface
	DropAuthType                       // authentication type differs from ours
	DropAuthAH                         // IP AH authentication, not supported
	DropAuthMismatch                   // simple password differs
	DropInterval                       // v2 advertisement interval differs from ours
	DropAddrList                       // addresses differ from ours (non-owner)
	DropOwnPacket                      // our own advertisement looped back
	DropFamily                         // wrong address family for the instance
	DropUnknownPeer                    // unicast mode: sender not in the peer list
	numDropReasons
)

var dropNames = [numDropReasons]string{
	DropNone:         "none",
	DropTTL:          "ttl",
	DropVersion:      "version",
	DropType:         "type",
	DropLength:       "length",
	DropAddrCount:    "addr_count",
	DropChecksum:     "checksum",
	DropVRID:         "vrid",
	DropAuthType:     "auth_type",
	DropAuthAH:       "auth_ah",
	DropAuthMismatch: "auth_mismatch",
	DropInterval:     "interval",
	DropAddrList:     "addr_list",
	DropOwnPacket:    "own_packet",
	DropFamily:       "family",
	DropUnknownPeer:  "unknown_peer",
}

// String returns a short metric-friendly name.
func (r DropReason) String() string {
	if r < numDropReasons {
		return dropNames[r]
	}
	return fmt.Sprintf("drop(%d)", uint8(r))
}

// DropReasons lists every reason other than DropNone, for metrics.
func DropReasons() []DropReason {
	rs := make([]DropReason, 0, numDropReasons-1)
	for r := DropNone + 1; r < numDropReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// DecodeError describes a malformed or rejected packet.
type DecodeError struct {
	Reason DropReason
	// Offset is the byte offset in the VRRP message the problem was found at.
	Offset int
	Detail string
}

// Error describes the problem with its reason and offset.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("vrrp: drop (%s) at byte %d: %s", e.Reason, e.Offset, e.Detail)
}

// Is makes errors.Is(err, ErrAuthAH) hold for AH packets.
func (e *DecodeError) Is(target error) bool {
	return target == ErrAuthAH && e.Reason == DropAuthAH
}

// DropCounters counts dropped packets per reason; safe for concurrent use.
type DropCounters struct {
	n [numDropReasons]atomic.Uint64
}

// Add counts one drop for r.
func (c *DropCounters) Add(r DropReason) {
	if r < numDropReasons {
		c.n[r].Add(1)
	}
}

// Get returns the count for r.
func (c *DropCounters) Get(r DropReason) uint64 {
	if r < numDropReasons {
		return c.n[r].Load()
	}
	return 0
}

// Total returns the number of drops for all reasons.
func (c *DropCounters) Total() uint64 {
	var t uint64
	for i := range c.n {
		t += c.n[i].Load()
	}
	return t
}
