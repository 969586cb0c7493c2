package ipvs

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Family is an address family as the kernel numbers it (AF_INET, AF_INET6).
type Family uint16

// Address families used by IPVS.
const (
	IPv4 Family = 2  // AF_INET
	IPv6 Family = 10 // AF_INET6
)

// String returns "IPv4", "IPv6" or the number.
func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	}
	return fmt.Sprintf("family(%d)", uint16(f))
}

// familyOf returns the family of a valid address (IPv4-mapped IPv6 addresses
// count as IPv6, as the kernel sees them).
func familyOf(a netip.Addr) Family {
	if a.Is4() {
		return IPv4
	}
	return IPv6
}

// Protocol is the transport protocol of a virtual service, by its IANA
// number (IPPROTO_*). The kernel carries it in 16 bits; every protocol IPVS
// balances fits in 8.
type Protocol uint8

// Protocols IPVS balances.
const (
	TCP  Protocol = 6
	UDP  Protocol = 17
	SCTP Protocol = 132
)

// String returns "tcp", "udp", "sctp" or "proto(N)".
func (p Protocol) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case SCTP:
		return "sctp"
	}
	return fmt.Sprintf("proto(%d)", uint8(p))
}

// ParseProtocol parses "tcp", "udp" or "sctp" in any case.
func ParseProtocol(s string) (Protocol, error) {
	switch strings.ToLower(s) {
	case "tcp":
		return TCP, nil
	case "udp":
		return UDP, nil
	case "sctp":
		return SCTP, nil
	}
	return 0, fmt.Errorf("%w: protocol %q", ErrInvalid, s)
}

// ServiceFlags are the IP_VS_SVC_F_* flags of a virtual service.
type ServiceFlags uint32

// Service flags. The scheduler flags have scheduler-specific names: sh and mh
// give SchedFlag1 and SchedFlag2 the meanings "fallback" and "port".
const (
	FlagPersistent ServiceFlags = 0x0001
	FlagHashed     ServiceFlags = 0x0002 // set by the kernel on every service
	FlagOnePacket  ServiceFlags = 0x0004
	SchedFlag1     ServiceFlags = 0x0008
	SchedFlag2     ServiceFlags = 0x0010
	SchedFlag3     ServiceFlags = 0x0020

	FlagSHFallback = SchedFlag1 // sh: pick another server when the hashed one is unavailable
	FlagSHPort     = SchedFlag2 // sh: hash the source port too
	FlagMHFallback = SchedFlag1 // mh: like sh-fallback
	FlagMHPort     = SchedFlag2 // mh: like sh-port
)

// ForwardMethod is how IPVS reaches a destination (IP_VS_CONN_F_* & FWD_MASK).
type ForwardMethod uint32

// Forwarding methods.
const (
	Masquerade ForwardMethod = 0 // NAT (ipvsadm -m)
	Local      ForwardMethod = 1 // local node
	Tunnel     ForwardMethod = 2 // IP-in-IP, GUE or GRE (ipvsadm -i)
	Route      ForwardMethod = 3 // direct routing (ipvsadm -g)
	Bypass     ForwardMethod = 4 // cache bypass
)

// String returns the name ipvsadm prints in its Forward column ("Masq",
// "Local", "Tunnel", "Route") or "Bypass".
func (m ForwardMethod) String() string {
	switch m {
	case Masquerade:
		return "Masq"
	case Local:
		return "Local"
	case Tunnel:
		return "Tunnel"
	case Route:
		return "Route"
	case Bypass:
		return "Bypass"
	}
	return fmt.Sprintf("fwd(%d)", uint32(m))
}

// TunnelType is the encapsulation of a Tunnel destination.
type TunnelType uint8

// Tunnel types.
const (
	TunnelIPIP TunnelType = 0
	TunnelGUE  TunnelType = 1
	TunnelGRE  TunnelType = 2
)

// String returns "ipip", "gue" or "gre", as ipvsadm spells them.
func (t TunnelType) String() string {
	switch t {
	case TunnelIPIP:
		return "ipip"
	case TunnelGUE:
		return "gue"
	case TunnelGRE:
		return "gre"
	}
	return fmt.Sprintf("tun(%d)", uint8(t))
}

// TunnelFlags are the encapsulation checksum flags of GUE and GRE tunnels.
type TunnelFlags uint16

// Tunnel flags; zero means no checksum.
const (
	TunnelNoChecksum     TunnelFlags = 0
	TunnelChecksum       TunnelFlags = 1 << 0
	TunnelRemoteChecksum TunnelFlags = 1 << 1
)

// Stats are the counters and rate estimates of a service or destination.
// The kernel reports them in 64 bits (and, for old tools, truncated to 32);
// the client always keeps the 64-bit values when the kernel sends them.
type Stats struct {
	Conns    uint64 // connections scheduled
	InPkts   uint64 // incoming packets
	OutPkts  uint64 // outgoing packets
	InBytes  uint64 // incoming bytes
	OutBytes uint64 // outgoing bytes
	CPS      uint64 // connections per second (estimate)
	InPPS    uint64 // incoming packets per second
	OutPPS   uint64 // outgoing packets per second
	InBPS    uint64 // incoming bytes per second
	OutBPS   uint64 // outgoing bytes per second
}

// Service is a virtual service: either a protocol, address and port, or a
// firewall mark with an address family.
type Service struct {
	// Family is the address family. For address services it follows from
	// Addr and may be left zero; a firewall-mark service needs it (zero
	// means IPv4).
	Family Family
	// Protocol is TCP, UDP or SCTP; zero for a firewall-mark service.
	Protocol Protocol
	// Addr is the virtual address and port; unset for a firewall-mark
	// service.
	Addr netip.AddrPort
	// FWMark is the firewall mark of a firewall-mark service, else zero.
	FWMark uint32

	// Scheduler is the scheduler name ("rr", "wlc", ...); empty means
	// "wlc", ipvsadm's default.
	Scheduler string
	// Flags are the service flags. FlagHashed is set by the kernel and
	// ignored when writing.
	Flags ServiceFlags
	// Timeout is the persistence timeout (whole seconds on the wire).
	Timeout time.Duration
	// Netmask is the persistence granularity: for IPv4 the mask as a
	// big-endian number (0xffffff00 for /24), for IPv6 the prefix length.
	// Zero means a single address (0xffffffff or 128).
	Netmask uint32
	// PersistenceEngine is the name of the persistence engine ("sip"), or
	// empty.
	PersistenceEngine string

	// Stats are filled by reads and ignored when writing.
	Stats Stats

	// Destinations are the real servers. Reads fill them only where the
	// method says so (Client.Dump); Apply uses them as the desired set.
	Destinations []Destination
}

// Destination is a real server of a virtual service.
type Destination struct {
	// Addr is the real server's address and port. Its family may differ
	// from the service's for Tunnel destinations.
	Addr netip.AddrPort
	// Forward is the forwarding method.
	Forward ForwardMethod
	// Weight is the scheduling weight (0 quiesces the server).
	Weight int
	// UpperThreshold and LowerThreshold bound the connections (0: none).
	UpperThreshold uint32
	LowerThreshold uint32

	// TunnelType, TunnelPort and TunnelFlags configure Tunnel
	// destinations; TunnelPort and TunnelFlags apply to GUE (and flags to
	// GRE).
	TunnelType  TunnelType
	TunnelPort  uint16
	TunnelFlags TunnelFlags

	// ActiveConns, InactiveConns and PersistentConns are filled by reads.
	ActiveConns     uint32
	InactiveConns   uint32
	PersistentConns uint32
	// Stats are filled by reads.
	Stats Stats
}

// ServiceKey identifies a virtual service; it is comparable and can key maps.
type ServiceKey struct {
	Family   Family
	Protocol Protocol
	Addr     netip.AddrPort
	FWMark   uint32
}

// Key returns the identity of s, normalised (family filled in, protocol and
// address cleared for firewall-mark services).
func (s *Service) Key() ServiceKey {
	if s.FWMark != 0 {
		f := s.Family
		if f == 0 {
			f = IPv4
		}
		return ServiceKey{Family: f, FWMark: s.FWMark}
	}
	return ServiceKey{Family: s.family(), Protocol: s.Protocol, Addr: s.Addr}
}

// family returns the service's family, derived from Addr when possible.
func (s *Service) family() Family {
	if s.FWMark == 0 && s.Addr.Addr().IsValid() {
		return familyOf(s.Addr.Addr())
	}
	if s.Family == 0 {
		return IPv4
	}
	return s.Family
}

// String formats a key the way ipvsadm names services in rules:
// "TCP 10.0.0.1:80", "FWM 7 IPv6".
func (k ServiceKey) String() string {
	if k.FWMark != 0 {
		if k.Family == IPv6 {
			return fmt.Sprintf("FWM %d IPv6", k.FWMark)
		}
		return fmt.Sprintf("FWM %d", k.FWMark)
	}
	return strings.ToUpper(k.Protocol.String()) + " " + k.Addr.String()
}

// String formats the service's identity, like ServiceKey.String.
func (s Service) String() string { return s.Key().String() }

// netmask returns the effective netmask (the zero value replaced by the
// single-address default).
func (s *Service) netmask() uint32 {
	if s.Netmask != 0 {
		return s.Netmask
	}
	if s.family() == IPv6 {
		return 128
	}
	return 0xffffffff
}

// scheduler returns the effective scheduler name.
func (s *Service) scheduler() string {
	if s.Scheduler == "" {
		return "wlc"
	}
	return s.Scheduler
}

// Validate reports what is wrong with s as a service to create, naming the
// field.
func (s *Service) Validate() error {
	var errs []string
	if s.FWMark != 0 {
		if s.Addr.IsValid() || s.Protocol != 0 {
			errs = append(errs, "fwmark service must not have Addr or Protocol")
		}
		if s.Family != 0 && s.Family != IPv4 && s.Family != IPv6 {
			errs = append(errs, fmt.Sprintf("Family: unknown %d", s.Family))
		}
	} else {
		if !s.Addr.Addr().IsValid() {
			errs = append(errs, "Addr: missing (and no FWMark)")
		} else if s.Family != 0 && s.Family != familyOf(s.Addr.Addr()) {
			errs = append(errs, fmt.Sprintf("Family: %v does not match Addr %v", s.Family, s.Addr.Addr()))
		}
		switch s.Protocol {
		case TCP, UDP, SCTP:
		default:
			errs = append(errs, fmt.Sprintf("Protocol: unsupported %d", s.Protocol))
		}
	}
	if len(s.Scheduler) > 15 {
		errs = append(errs, "Scheduler: longer than 15 bytes")
	}
	if len(s.PersistenceEngine) > 15 {
		errs = append(errs, "PersistenceEngine: longer than 15 bytes")
	}
	if s.Timeout < 0 || s.Timeout/time.Second > 0xffffffff {
		errs = append(errs, "Timeout: out of range")
	}
	if s.family() == IPv6 && s.Netmask > 128 {
		errs = append(errs, fmt.Sprintf("Netmask: IPv6 prefix length %d > 128", s.Netmask))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: service %v: %s", ErrInvalid, s.Key(), strings.Join(errs, "; "))
	}
	return nil
}

// Validate reports what is wrong with d as a destination to create.
func (d *Destination) Validate() error {
	var errs []string
	if !d.Addr.Addr().IsValid() {
		errs = append(errs, "Addr: missing")
	}
	if d.Weight < 0 || int64(d.Weight) > 0x7fffffff {
		errs = append(errs, fmt.Sprintf("Weight: %d out of range", d.Weight))
	}
	if d.Forward > Bypass {
		errs = append(errs, fmt.Sprintf("Forward: unknown method %d", d.Forward))
	}
	if d.TunnelType > TunnelGRE {
		errs = append(errs, fmt.Sprintf("TunnelType: unknown %d", d.TunnelType))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: destination %v: %s", ErrInvalid, d.Addr, strings.Join(errs, "; "))
	}
	return nil
}

// Info is the kernel's general IPVS information.
type Info struct {
	// Version is the IPVS version code (major<<16 | minor<<8 | patch).
	Version uint32
	// ConnTableSize is the size of the connection hash table.
	ConnTableSize uint32
}

// VersionString formats the version as "1.2.1".
func (i Info) VersionString() string {
	return fmt.Sprintf("%d.%d.%d", i.Version>>16&0xff, i.Version>>8&0xff, i.Version&0xff)
}

// Timeouts are the connection timeouts IPVS applies per protocol state.
// Writing a zero field leaves that timeout unchanged.
type Timeouts struct {
	TCP    time.Duration // established TCP connections
	TCPFin time.Duration // TCP after a FIN
	UDP    time.Duration // UDP
}

// DaemonState is the role of a connection-sync daemon.
type DaemonState uint32

// Sync daemon roles.
const (
	Master DaemonState = 1
	Backup DaemonState = 2
)

// String returns "master" or "backup".
func (s DaemonState) String() string {
	switch s {
	case Master:
		return "master"
	case Backup:
		return "backup"
	}
	return fmt.Sprintf("state(%d)", uint32(s))
}

// Daemon is a connection-synchronisation daemon's configuration.
type Daemon struct {
	State     DaemonState
	Interface string     // multicast interface
	SyncID    uint32     // sync ID (0-255 in practice)
	MaxLen    uint16     // UDP payload size, 0: kernel default
	Group     netip.Addr // multicast group, unset: kernel default 224.0.0.81
	Port      uint16     // multicast port, 0: kernel default 8848
	TTL       uint8      // multicast TTL, 0: kernel default 1
}
