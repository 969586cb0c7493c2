package check

import (
	"fmt"
	"net/netip"
	"time"
)

// BFDSessionConfig describes one BFD session. The zero value of each
// timer field means the default written beside it.
type BFDSessionConfig struct {
	// Peer is the neighbour's address. It and Local (when set) must be of
	// one family.
	Peer netip.Addr
	// Local is the source address; zero lets the kernel choose.
	Local netip.Addr
	// Interface binds a single-hop session to one interface (optional).
	Interface string
	// Multihop selects RFC 5883 (UDP 4784) instead of RFC 5881 (3784).
	Multihop bool
	// TTL is the TTL or hop limit of sent packets; zero means 255, as RFC
	// 5881 requires of single-hop sessions.
	TTL int
	// MinTTL discards received packets whose TTL or hop limit is lower
	// (the GTSM check of RFC 5881 §5). Zero means 255 single-hop and 254
	// multihop (one router, FRR's default minimum-ttl); 1 accepts any.
	MinTTL int
	// DesiredMinTx is the transmit interval wanted while Up (default 300 ms).
	DesiredMinTx time.Duration
	// RequiredMinRx is the slowest rate we accept packets at (default 300 ms).
	RequiredMinRx time.Duration
	// IdleTx is the transmit interval while not Up (default 1 s, as RFC
	// 5880 §6.8.3 asks; keepalived's idle_tx may set it lower).
	IdleTx time.Duration
	// DetectMult is the detection multiplier (default 3).
	DetectMult uint8
	// Passive makes the session wait for the peer's first packet
	// (RFC 5880 §6.1) before it sends.
	Passive bool
	// AdminDown holds the session in AdminDown.
	AdminDown bool
	// Password enables simple password authentication (1 to 16 bytes),
	// with key ID KeyID.
	Password []byte
	KeyID    uint8
}

// withDefaults returns c with its zero timers replaced by defaults.
func (c BFDSessionConfig) withDefaults() BFDSessionConfig {
	if c.DesiredMinTx == 0 {
		c.DesiredMinTx = 300 * time.Millisecond
	}
	if c.RequiredMinRx == 0 {
		c.RequiredMinRx = 300 * time.Millisecond
	}
	if c.IdleTx == 0 {
		c.IdleTx = time.Second
	}
	if c.DetectMult == 0 {
		c.DetectMult = 3
	}
	if c.TTL == 0 {
		c.TTL = 255
	}
	if c.MinTTL == 0 {
		c.MinTTL = 255
		if c.Multihop {
			c.MinTTL = 254
		}
	}
	return c
}

// validate reports the first field of c a session cannot use.
func (c BFDSessionConfig) validate() error {
	switch {
	case !c.Peer.IsValid():
		return fmt.Errorf("%w: Peer not set", ErrBFDConfig)
	case c.Local.IsValid() && c.Local.Unmap().Is4() != c.Peer.Unmap().Is4():
		return fmt.Errorf("%w: Local %s and Peer %s differ in family", ErrBFDConfig, c.Local, c.Peer)
	case c.DesiredMinTx < 0 || c.RequiredMinRx < 0 || c.IdleTx < 0:
		return fmt.Errorf("%w: negative interval", ErrBFDConfig)
	case c.DesiredMinTx > 0 && c.DesiredMinTx < time.Microsecond,
		c.IdleTx > 0 && c.IdleTx < time.Microsecond:
		return fmt.Errorf("%w: transmit interval below 1 µs", ErrBFDConfig)
	case c.MinTTL < 0 || c.MinTTL > 255:
		return fmt.Errorf("%w: MinTTL %d not in 0..255", ErrBFDConfig, c.MinTTL)
	case c.TTL < 0 || c.TTL > 255:
		return fmt.Errorf("%w: TTL %d not in 0..255", ErrBFDConfig, c.TTL)
	case c.Interface != "" && c.Multihop:
		return fmt.Errorf("%w: Interface on a multihop session", ErrBFDConfig)
	case c.KeyID != 0 && len(c.Password) == 0:
		return fmt.Errorf("%w: KeyID without Password", ErrBFDConfig)
	case len(c.Password) > bfdMaxPassword:
		return fmt.Errorf("%w: password longer than %d bytes", ErrBFDConfig, bfdMaxPassword)
	}
	return nil
}
