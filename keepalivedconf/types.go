package keepalivedconf

import (
	"fmt"
	"strconv"
	"strings"
)

// Protocol is a virtual server's IP protocol, with its IANA number (the
// value IPVS takes).
type Protocol uint8

// Protocols keepalived accepts for protocol.
const (
	TCP  Protocol = 6
	UDP  Protocol = 17
	SCTP Protocol = 132
)

// String returns "tcp", "udp" or "sctp" ("" for the zero value).
func (p Protocol) String() string {
	switch p {
	case 0:
		return ""
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case SCTP:
		return "sctp"
	}
	return "protocol(" + strconv.Itoa(int(p)) + ")"
}

// ParseProtocol reads a protocol name in any case.
func ParseProtocol(s string) (Protocol, error) {
	switch strings.ToLower(s) {
	case "tcp":
		return TCP, nil
	case "udp":
		return UDP, nil
	case "sctp":
		return SCTP, nil
	}
	return 0, fmt.Errorf("%w: unknown protocol %q", ErrInvalid, s)
}

// LBKind is a virtual server's forwarding method (lb_kind, lvs_method).
// The zero value means unset: keepalived then uses NAT.
type LBKind uint8

// Forwarding methods.
const (
	// NAT is masquerading: the director rewrites the destination.
	NAT LBKind = iota + 1
	// DR is direct routing: the real server answers the client itself.
	DR
	// TUN is IP-in-IP tunnelling.
	TUN
)

// String returns "NAT", "DR" or "TUN" as keepalived spells them ("" for
// the zero value).
func (k LBKind) String() string {
	switch k {
	case NAT:
		return "NAT"
	case DR:
		return "DR"
	case TUN:
		return "TUN"
	}
	return ""
}

// parseLBKind reads lb_kind as keepalived does: upper case only.
func parseLBKind(s string) (LBKind, bool) {
	switch s {
	case "NAT":
		return NAT, true
	case "DR":
		return DR, true
	case "TUN":
		return TUN, true
	}
	return 0, false
}

// State is a vrrp_instance's initial state. The zero value means unset:
// keepalived then starts as BACKUP.
type State uint8

// Initial states.
const (
	StateBackup State = iota + 1
	StateMaster
)

// String returns "MASTER" or "BACKUP" ("" for the zero value).
func (s State) String() string {
	switch s {
	case StateMaster:
		return "MASTER"
	case StateBackup:
		return "BACKUP"
	}
	return ""
}

// AuthType is a vrrp_instance's authentication type. The zero value
// means none.
type AuthType uint8

// Authentication types.
const (
	// AuthTypePass is the simple text password of VRRPv2.
	AuthTypePass AuthType = iota + 1
	// AuthTypeAH is IPsec AH authentication.
	AuthTypeAH
)

// String returns "PASS" or "AH" ("" for the zero value).
func (a AuthType) String() string {
	switch a {
	case AuthTypePass:
		return "PASS"
	case AuthTypeAH:
		return "AH"
	}
	return ""
}

// Scope is an address scope with the kernel's rtnetlink numbers, as
// iproute2's rt_scopes names them.
type Scope uint8

// Address scopes. The zero value, global, is keepalived's default.
const (
	ScopeGlobal  Scope = 0
	ScopeSite    Scope = 200
	ScopeLink    Scope = 253
	ScopeHost    Scope = 254
	ScopeNowhere Scope = 255
)

// String returns the scope's name, or its number when it has none.
func (s Scope) String() string {
	switch s {
	case ScopeGlobal:
		return "global"
	case ScopeSite:
		return "site"
	case ScopeLink:
		return "link"
	case ScopeHost:
		return "host"
	case ScopeNowhere:
		return "nowhere"
	}
	return strconv.Itoa(int(s))
}

// parseScope reads a scope as keepalived does: a name of iproute2's
// default rt_scopes table or a number from 0 to 255.
func parseScope(s string) (Scope, bool) {
	switch s {
	case "global", "universe":
		return ScopeGlobal, true
	case "site":
		return ScopeSite, true
	case "link":
		return ScopeLink, true
	case "host":
		return ScopeHost, true
	case "nowhere":
		return ScopeNowhere, true
	}
	n, err := strconv.ParseUint(s, 0, 8)
	return Scope(n), err == nil
}

// MarshalText writes the protocol's name, so that JSON shows it.
func (p Protocol) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// MarshalText writes the forwarding method's name.
func (k LBKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// MarshalText writes the state's name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalText writes the authentication type's name.
func (a AuthType) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// MarshalText writes the scope's name.
func (s Scope) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// DNSType is a DNS_CHECK query type, with its RFC 1035 number. The zero
// value means unset: keepalived then asks for SOA.
type DNSType uint16

// Query types keepalived 2.2.7's DNS_CHECK accepts.
const (
	DNSTypeA      DNSType = 1
	DNSTypeNS     DNSType = 2
	DNSTypeCNAME  DNSType = 5
	DNSTypeSOA    DNSType = 6
	DNSTypeMX     DNSType = 15
	DNSTypeTXT    DNSType = 16
	DNSTypeAAAA   DNSType = 28
	DNSTypeRRSIG  DNSType = 46
	DNSTypeDNSKEY DNSType = 48
)

var dnsTypeNames = map[DNSType]string{
	DNSTypeA: "A", DNSTypeNS: "NS", DNSTypeCNAME: "CNAME", DNSTypeSOA: "SOA", DNSTypeMX: "MX",
	DNSTypeTXT: "TXT", DNSTypeAAAA: "AAAA", DNSTypeRRSIG: "RRSIG", DNSTypeDNSKEY: "DNSKEY",
}

// String returns the type's name ("" for the zero value).
func (t DNSType) String() string {
	if n, ok := dnsTypeNames[t]; ok {
		return n
	}
	if t == 0 {
		return ""
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// MarshalText writes the type's name.
func (t DNSType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// parseDNSType reads a query type as keepalived does: a name of its table,
// in any case.
func parseDNSType(s string) (DNSType, bool) {
	for t, n := range dnsTypeNames {
		if strings.EqualFold(s, n) {
			return t, true
		}
	}
	return 0, false
}
