package check

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// BFD wire constants (RFC 5880 §4.1, RFC 5881 §4, RFC 5883 §5).
const (
	// BFDPort is the UDP destination port of single-hop control packets.
	BFDPort = 3784
	// BFDMultihopPort is the UDP destination port of multihop control packets.
	BFDMultihopPort = 4784
	// BFDVersion is the protocol version this package speaks.
	BFDVersion = 1

	bfdHeaderLen   = 24
	bfdMinSrcPort  = 49152
	bfdMaxSrcPort  = 65535
	bfdAuthSimple  = 1
	bfdMaxPassword = 16
)

// BFDState is a session state as carried in the Sta field.
type BFDState uint8

// Session states, numbered as on the wire.
const (
	BFDAdminDown BFDState = 0
	BFDDown      BFDState = 1
	BFDInit      BFDState = 2
	BFDUp        BFDState = 3
)

var bfdStateNames = [...]string{"AdminDown", "Down", "Init", "Up"}

// String returns the state's name as RFC 5880 spells it.
func (s BFDState) String() string {
	if int(s) < len(bfdStateNames) {
		return bfdStateNames[s]
	}
	return fmt.Sprintf("BFDState(%d)", uint8(s))
}

// BFDDiag is a diagnostic code (RFC 5880 §4.1): why the local system last
// left Up.
type BFDDiag uint8

// Diagnostic codes, numbered as on the wire.
const (
	BFDDiagNone                  BFDDiag = 0
	BFDDiagControlDetectExpired  BFDDiag = 1
	BFDDiagEchoFailed            BFDDiag = 2
	BFDDiagNeighborDown          BFDDiag = 3
	BFDDiagForwardingReset       BFDDiag = 4
	BFDDiagPathDown              BFDDiag = 5
	BFDDiagConcatPathDown        BFDDiag = 6
	BFDDiagAdminDown             BFDDiag = 7
	BFDDiagReverseConcatPathDown BFDDiag = 8
)

var bfdDiagNames = [...]string{
	"none", "control detection time expired", "echo function failed",
	"neighbor signaled session down", "forwarding plane reset", "path down",
	"concatenated path down", "administratively down", "reverse concatenated path down",
}

// String returns the diagnostic's text as RFC 5880 §4.1 names it.
func (d BFDDiag) String() string {
	if int(d) < len(bfdDiagNames) {
		return bfdDiagNames[d]
	}
	return fmt.Sprintf("BFDDiag(%d)", uint8(d))
}

// BFDAuthType is an authentication type (RFC 5880 §4.1).
type BFDAuthType uint8

// Authentication types. Only simple password is implemented by sessions;
// the codec reads and writes any type.
const (
	BFDAuthNone           BFDAuthType = 0
	BFDAuthSimplePassword BFDAuthType = 1
)

// Errors of the BFD codec.
var (
	ErrBFDTruncated = errors.New("check: bfd: packet truncated")
	ErrBFDMalformed = errors.New("check: bfd: malformed packet")
)

// BFDPacket is a BFD control packet (RFC 5880 §4.1). Intervals are carried
// in microseconds on the wire; here they are Durations (exact for every
// wire value).
type BFDPacket struct {
	Version    uint8
	Diag       BFDDiag
	State      BFDState
	Poll       bool
	Final      bool
	CPI        bool // control plane independent
	Demand     bool
	Multipoint bool
	DetectMult uint8
	// MyDiscriminator and YourDiscriminator identify the session at the
	// sender and the receiver.
	MyDiscriminator   uint32
	YourDiscriminator uint32
	DesiredMinTx      time.Duration
	RequiredMinRx     time.Duration
	RequiredMinEchoRx time.Duration
	// AuthType is BFDAuthNone when the A bit is clear.
	AuthType  BFDAuthType
	AuthKeyID uint8
	// AuthData is the rest of the authentication section: the password
	// for simple password authentication. After DecodeFromBytes it
	// aliases the decoded buffer.
	AuthData []byte
}

// DecodeFromBytes fills p from data without allocating. It checks what
// RFC 5880 §6.8.6 requires of every packet before a session sees it:
// version 1, a length field no shorter than the header and no longer than
// data, a non-zero Detect Mult and My Discriminator, the M bit clear, and
// a well formed authentication section. Bytes past the length field are
// ignored, as the RFC says.
func (p *BFDPacket) DecodeFromBytes(data []byte) error {
	if len(data) < bfdHeaderLen {
		return fmt.Errorf("%w: %d bytes, need %d", ErrBFDTruncated, len(data), bfdHeaderLen)
	}
	p.Version = data[0] >> 5
	if p.Version != BFDVersion {
		return fmt.Errorf("%w: version %d", ErrBFDMalformed, p.Version)
	}
	p.Diag = BFDDiag(data[0] & 0x1f)
	p.State = BFDState(data[1] >> 6)
	p.Poll = data[1]&0x20 != 0
	p.Final = data[1]&0x10 != 0
	p.CPI = data[1]&0x08 != 0
	auth := data[1]&0x04 != 0
	p.Demand = data[1]&0x02 != 0
	p.Multipoint = data[1]&0x01 != 0
	p.DetectMult = data[2]
	n := int(data[3])
	switch {
	case n < bfdHeaderLen:
		return fmt.Errorf("%w: length field %d", ErrBFDMalformed, n)
	case n > len(data):
		return fmt.Errorf("%w: length field %d, %d bytes", ErrBFDTruncated, n, len(data))
	case p.DetectMult == 0:
		return fmt.Errorf("%w: detect mult 0", ErrBFDMalformed)
	case p.Multipoint:
		return fmt.Errorf("%w: multipoint bit set", ErrBFDMalformed)
	}
	p.MyDiscriminator = binary.BigEndian.Uint32(data[4:])
	p.YourDiscriminator = binary.BigEndian.Uint32(data[8:])
	if p.MyDiscriminator == 0 {
		return fmt.Errorf("%w: my discriminator 0", ErrBFDMalformed)
	}
	p.DesiredMinTx = usec(data[12:])
	p.RequiredMinRx = usec(data[16:])
	p.RequiredMinEchoRx = usec(data[20:])
	p.AuthType, p.AuthKeyID, p.AuthData = BFDAuthNone, 0, nil
	if !auth {
		return nil
	}
	// Auth section: type, length (counting type and length), then data.
	if n < bfdHeaderLen+3 {
		return fmt.Errorf("%w: A bit set, length %d", ErrBFDMalformed, n)
	}
	a := data[bfdHeaderLen:n]
	alen := int(a[1])
	if alen < 3 || alen > len(a) {
		return fmt.Errorf("%w: auth length %d", ErrBFDMalformed, alen)
	}
	p.AuthType = BFDAuthType(a[0])
	if p.AuthType == BFDAuthNone {
		return fmt.Errorf("%w: A bit set with auth type 0", ErrBFDMalformed)
	}
	p.AuthKeyID = a[2]
	p.AuthData = a[3:alen]
	if p.AuthType == BFDAuthSimplePassword && (len(p.AuthData) < 1 || len(p.AuthData) > bfdMaxPassword) {
		return fmt.Errorf("%w: password of %d bytes", ErrBFDMalformed, len(p.AuthData))
	}
	return nil
}

func usec(b []byte) time.Duration {
	return time.Duration(binary.BigEndian.Uint32(b)) * time.Microsecond
}

// Len returns the packet's encoded length.
func (p *BFDPacket) Len() int {
	if p.AuthType == BFDAuthNone {
		return bfdHeaderLen
	}
	return bfdHeaderLen + 3 + len(p.AuthData)
}

// AppendTo appends the encoded packet to b and returns the extended
// buffer. Version 0 is written as 1. Intervals are truncated to whole
// microseconds and clamped to the field's range.
func (p *BFDPacket) AppendTo(b []byte) ([]byte, error) {
	if p.AuthType != BFDAuthNone && len(p.AuthData) > 255-3-bfdHeaderLen {
		return b, fmt.Errorf("%w: auth data of %d bytes", ErrBFDMalformed, len(p.AuthData))
	}
	v := p.Version
	if v == 0 {
		v = BFDVersion
	}
	flags := byte(p.State&3) << 6
	for i, set := range [...]bool{p.Poll, p.Final, p.CPI, p.AuthType != BFDAuthNone, p.Demand, p.Multipoint} {
		if set {
			flags |= 0x20 >> i
		}
	}
	n := p.Len()
	b = append(b, v<<5|byte(p.Diag&0x1f), flags, p.DetectMult, byte(n))
	b = binary.BigEndian.AppendUint32(b, p.MyDiscriminator)
	b = binary.BigEndian.AppendUint32(b, p.YourDiscriminator)
	b = binary.BigEndian.AppendUint32(b, toUsec(p.DesiredMinTx))
	b = binary.BigEndian.AppendUint32(b, toUsec(p.RequiredMinRx))
	b = binary.BigEndian.AppendUint32(b, toUsec(p.RequiredMinEchoRx))
	if p.AuthType != BFDAuthNone {
		b = append(b, byte(p.AuthType), byte(3+len(p.AuthData)), p.AuthKeyID)
		b = append(b, p.AuthData...)
	}
	return b, nil
}

func toUsec(d time.Duration) uint32 {
	us := d / time.Microsecond
	switch {
	case us < 0:
		return 0
	case us > 1<<32-1:
		return 1<<32 - 1
	}
	return uint32(us)
}
