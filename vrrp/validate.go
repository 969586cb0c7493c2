package vrrp

import (
	"errors"
	"net/netip"
	"slices"
	"time"
)

// RecvInfo is what the IP layer says about a received VRRP message.
type RecvInfo struct {
	// Src and Dst are the IP source and destination addresses.
	Src, Dst netip.Addr
	// TTL is the IPv4 TTL or IPv6 hop limit (-1 when unknown).
	TTL int
	// IfIndex is the receiving interface (0 when unknown).
	IfIndex int
}

// Parse runs the instance-independent receive checks of RFC 9568 7.1 on
// the VRRP message msg (version, type, length, address count and
// checksum) and decodes it into p. It returns the checksum dialect that
// matched or the reason to drop. The hop limit is checked by Expect.Check,
// which knows whether the instance hears multicast (TTL 255 required) or
// unicast peers (any TTL, as keepalived accepts).
func Parse(msg []byte, info RecvInfo, p *Packet) (ChecksumMode, DropReason) {
	ipv6 := info.Src.Is6() && !info.Src.Is4In6()
	if err := p.DecodeFromBytes(msg, ipv6); err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			return 0, de.Reason
		}
		return 0, DropLength
	}
	mode, ok := VerifyChecksum(msg[:p.Len()], info.Src, info.Dst)
	if !ok {
		return mode, DropChecksum
	}
	return mode, DropNone
}

// Expect is what an instance accepts from its peers.
type Expect struct {
	// Version is 2 or 3.
	Version uint8
	// VRID is the instance's virtual router ID.
	VRID uint8
	// AuthType and AuthPass: VRRPv2 authentication (AuthPass zero padded).
	AuthType AuthType
	AuthPass [8]byte
	// Interval is the instance's advertisement interval (compared in v2).
	Interval time.Duration
	// Addrs are the instance's virtual addresses, compared with a
	// non-owner's list when CheckAddrs is set.
	Addrs      []netip.Addr
	CheckAddrs bool
	// Self is our own source address; packets from it are ours.
	Self netip.Addr
	// Peers, when not empty, lists the only accepted senders (unicast).
	Peers []netip.Addr
}

// Check runs the instance-specific checks on a parsed packet, the hop
// limit first: 255 unless Peers is set (unicast).
func (e *Expect) Check(p *Packet, info RecvInfo) DropReason {
	if len(e.Peers) == 0 && info.TTL != 255 {
		return DropTTL
	}
	if p.Version != e.Version {
		return DropVersion
	}
	if p.VRID != e.VRID {
		return DropVRID
	}
	if e.Self.IsValid() && info.Src == e.Self {
		return DropOwnPacket
	}
	if len(e.Addrs) > 0 && len(p.Addrs) > 0 && p.Addrs[0].Is4() != e.Addrs[0].Is4() {
		return DropFamily
	}
	if len(e.Peers) > 0 && !slices.Contains(e.Peers, info.Src) {
		return DropUnknownPeer
	}
	if p.Version == 2 {
		if p.AuthType == AuthAH {
			return DropAuthAH
		}
		if p.AuthType != e.AuthType {
			return DropAuthType
		}
		if p.AuthType == AuthSimple && p.AuthData != e.AuthPass {
			return DropAuthMismatch
		}
		if p.Interval != e.Interval {
			return DropInterval
		}
	}
	if e.CheckAddrs && p.Priority != 255 {
		if len(p.Addrs) != len(e.Addrs) {
			return DropAddrCount
		}
		for _, a := range p.Addrs {
			if !slices.Contains(e.Addrs, a) {
				return DropAddrList
			}
		}
	}
	return DropNone
}
