package fwmark

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Family is an address family a rule applies to, numbered as the kernel
// numbers them (AF_INET, AF_INET6).
type Family uint16

// Address families. The zero Family means "unspecified": take it from the
// destination.
const (
	IPv4 Family = 2  // AF_INET
	IPv6 Family = 10 // AF_INET6
)

// String returns "IPv4", "IPv6", "unspecified" or "family(N)".
func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	case 0:
		return "unspecified"
	}
	return "family(" + strconv.Itoa(int(f)) + ")"
}

// firewalldFamily returns the family as firewalld's rich rules spell it
// ("ipv4", "ipv6").
func firewalldFamily(f Family) string {
	switch f {
	case IPv4:
		return "ipv4"
	case IPv6:
		return "ipv6"
	}
	return f.String()
}

// Protocol is the transport protocol a rule matches.
type Protocol uint8

// Transport protocols with ports that IPVS balances. The values are the IP
// protocol numbers.
const (
	TCP  Protocol = 6
	UDP  Protocol = 17
	SCTP Protocol = 132
)

// String returns the name iptables, firewalld and nft use ("tcp").
func (p Protocol) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case SCTP:
		return "sctp"
	}
	return "protocol(" + strconv.Itoa(int(p)) + ")"
}

// ParseProtocol parses "tcp", "udp" or "sctp".
func ParseProtocol(s string) (Protocol, error) {
	switch strings.ToLower(s) {
	case "tcp":
		return TCP, nil
	case "udp":
		return UDP, nil
	case "sctp":
		return SCTP, nil
	}
	return 0, fmt.Errorf("%w: %q (want tcp, udp or sctp)", ErrProtocol, s)
}

// PortRange is an inclusive range of destination ports; a single port has
// From == To.
type PortRange struct {
	From, To uint16
}

// Port returns the range holding just p.
func Port(p uint16) PortRange { return PortRange{p, p} }

// Single reports whether r holds exactly one port.
func (r PortRange) Single() bool { return r.From == r.To }

// Overlaps reports whether r and o share a port.
func (r PortRange) Overlaps(o PortRange) bool { return r.From <= o.To && o.From <= r.To }

// String returns "80" or "10000-20000" (the firewalld and nft spelling).
func (r PortRange) String() string { return r.format('-') }

func (r PortRange) format(sep byte) string {
	b := strconv.AppendUint(nil, uint64(r.From), 10)
	if !r.Single() {
		b = append(b, sep)
		b = strconv.AppendUint(b, uint64(r.To), 10)
	}
	return string(b)
}

// ParsePortRange parses "80", "10000-20000" or the iptables form
// "10000:20000".
func ParsePortRange(s string) (PortRange, error) {
	from, to, isRange := strings.Cut(s, "-")
	if !isRange {
		from, to, isRange = strings.Cut(s, ":")
	}
	f, err := parsePort(from)
	if err != nil {
		return PortRange{}, err
	}
	if !isRange {
		return PortRange{f, f}, nil
	}
	t, err := parsePort(to)
	if err != nil {
		return PortRange{}, err
	}
	r := PortRange{f, t}
	if f > t {
		return r, fmt.Errorf("%w: %d-%d", ErrPortOrder, f, t)
	}
	return r, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not a port number (1-65535)", ErrPort, s)
	}
	if n == 0 {
		return 0, ErrPortZero
	}
	return uint16(n), nil
}

// Rule marks packets of one protocol sent to a destination address or
// prefix on the listed ports with Mark, the number an IPVS firewall-mark
// service (keepalived's "virtual_server fwmark N") matches.
//
// The seed's HTTP+HTTPS bundle is
//
//	Rule{Protocol: TCP, Dst: vip/32, Ports: {Port(80), Port(443)}, Mark: 80}
//
// and its passive FTP rules are Ports {Port(21)} and {{10000, 20000}} with
// Mark 21.
type Rule struct {
	// Family is optional; when set it must agree with Dst.
	Family Family
	// Protocol is TCP, UDP or SCTP.
	Protocol Protocol
	// Dst is the virtual IP (as a /32 or /128) or a prefix of them. Host
	// bits must be zero.
	Dst netip.Prefix
	// Ports lists destination ports and ranges; empty means every port.
	Ports []PortRange
	// Mark is the firewall mark to set; 0 is "no mark" and not allowed.
	Mark uint32
}

// AddrFamily returns the family of the rule's destination.
func (r Rule) AddrFamily() Family {
	if r.Dst.Addr().Is4() {
		return IPv4
	}
	return IPv6
}

// String returns the rule in the config-file syntax read by Parse, e.g.
// "mark 80 tcp 192.168.76.24/32 80,443".
func (r Rule) String() string {
	var b strings.Builder
	b.WriteString("mark ")
	b.WriteString(strconv.FormatUint(uint64(r.Mark), 10))
	b.WriteByte(' ')
	b.WriteString(r.Protocol.String())
	b.WriteByte(' ')
	b.WriteString(r.Dst.String())
	b.WriteByte(' ')
	if len(r.Ports) == 0 {
		b.WriteString("all")
	}
	for i, p := range r.Ports {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Rules is a desired state: the complete set of marks lvskit should set.
// Applying Rules replaces whatever lvskit set before.
type Rules []Rule

// Validate checks every rule and then the rules against each other. It
// returns the first problem found as a *FieldError naming the rule and
// field ("rules[1].ports[0]"), wrapping one of the package's sentinel
// errors. Nothing is applied or rendered from rules that fail Validate.
func (rs Rules) Validate() error {
	for i, r := range rs {
		if err := r.validate(); err != nil {
			return withIndex(i, err)
		}
	}
	return rs.overlaps()
}

// overlaps finds the first pair i < j (by j, then i) of rules that match
// the same packets with different marks. Rules on a single address only
// meet rules on that address or on a wider prefix, so they are bucketed by
// address; only prefix rules are compared with everything before them.
// Thousands of VIPs validate in linear time.
func (rs Rules) overlaps() error {
	type key struct {
		proto Protocol
		addr  netip.Addr
	}
	hosts := map[key][]int{}
	var wide []int
	var cand []int
	for j, r := range rs {
		cand = cand[:0]
		if r.Dst.IsSingleIP() {
			k := key{r.Protocol, r.Dst.Addr()}
			cand = append(cand, hosts[k]...)
			cand = append(cand, wide...)
			hosts[k] = append(hosts[k], j)
		} else {
			for i := range j {
				cand = append(cand, i)
			}
			wide = append(wide, j)
		}
		slices.Sort(cand)
		for _, i := range cand {
			if err := overlap(rs, i, j); err != nil {
				return err
			}
		}
	}
	return nil
}

// Validate checks one rule on its own.
func (r Rule) Validate() error { return r.validate() }

func (r Rule) validate() error {
	if r.Mark == 0 {
		return &FieldError{Field: "mark", Err: ErrMarkZero}
	}
	switch r.Protocol {
	case TCP, UDP, SCTP:
	default:
		return &FieldError{Field: "protocol", Err: fmt.Errorf("%w: %d", ErrProtocol, r.Protocol)}
	}
	if !r.Dst.IsValid() {
		return &FieldError{Field: "dst", Err: ErrNoDestination}
	}
	a := r.Dst.Addr()
	if a.Is4In6() {
		return &FieldError{Field: "dst", Err: fmt.Errorf("%w: %s is an IPv4-mapped IPv6 address; write the IPv4 address", ErrFamily, r.Dst)}
	}
	if a.Zone() != "" {
		return &FieldError{Field: "dst", Err: fmt.Errorf("%w: %s has a zone", ErrFamily, r.Dst)}
	}
	if r.Dst.Masked() != r.Dst {
		return &FieldError{Field: "dst", Err: fmt.Errorf("%w: %s (did you mean %s?)", ErrHostBits, r.Dst, r.Dst.Masked())}
	}
	if r.Family != 0 && r.Family != r.AddrFamily() {
		if r.Family != IPv4 && r.Family != IPv6 {
			return &FieldError{Field: "family", Err: fmt.Errorf("%w: %s", ErrFamily, r.Family)}
		}
		return &FieldError{Field: "family", Err: fmt.Errorf("%w: family %s but destination %s is %s", ErrFamily, r.Family, r.Dst, r.AddrFamily())}
	}
	for k, p := range r.Ports {
		if p.From == 0 || p.To == 0 {
			return &FieldError{Field: "ports[" + strconv.Itoa(k) + "]", Err: ErrPortZero}
		}
		if p.From > p.To {
			return &FieldError{Field: "ports[" + strconv.Itoa(k) + "]", Err: fmt.Errorf("%w: %d-%d", ErrPortOrder, p.From, p.To)}
		}
	}
	return nil
}

// overlap reports rules i < j that can both match one packet while setting
// different marks: the later rule would silently win, which is never what
// the author meant.
func overlap(rs Rules, i, j int) error {
	a, b := rs[i], rs[j]
	if a.Mark == b.Mark || a.Protocol != b.Protocol || !a.Dst.Overlaps(b.Dst) {
		return nil
	}
	all := []PortRange{{1, 65535}}
	pa, pb := a.Ports, b.Ports
	if len(pa) == 0 {
		pa = all
	}
	if len(pb) == 0 {
		pb = all
	}
	for k, y := range pb {
		for _, x := range pa {
			if x.Overlaps(y) {
				lo, hi := max(x.From, y.From), min(x.To, y.To)
				field := "ports"
				if len(b.Ports) > 0 {
					field = "ports[" + strconv.Itoa(k) + "]"
				}
				return withIndex(j, &FieldError{Field: field, Err: fmt.Errorf(
					"%w: %s port %s also matches rules[%d] (mark %d) but sets mark %d",
					ErrOverlap, b.Protocol, PortRange{lo, hi}, i, a.Mark, b.Mark)})
			}
		}
	}
	return nil
}

// elements splits a rule into one (rule, single range) pair per port range:
// the unit the nft table and the firewalld rich rules hold. A rule without
// ports yields one element with a zero range.
func (r Rule) elements() []PortRange {
	if len(r.Ports) == 0 {
		return []PortRange{{}}
	}
	return r.Ports
}
