package fwmark

import (
	"fmt"
	"strconv"
)

// LocalDelivery routes packets that carry one of Marks to the local host
// through policy routing: one rule per family and mark ("ip rule add
// fwmark M lookup Table") and, in Table, a local default route on lo.
//
// IPVS sees only packets routed to local input, so a VIP normally has to
// be an address of the director. With LocalDelivery a firewall-mark
// service can cover a whole prefix of VIPs (rules with a Dst wider than
// one address) without assigning each one; schedulers that hash the
// destination (dh, lblc, lblcr) then see many addresses. IPVS forwards such
// packets and needs nothing more; a local socket that should answer them
// itself needs IP_TRANSPARENT, as with TPROXY.
type LocalDelivery struct {
	// Marks to deliver locally; each must be non-zero.
	Marks []uint32
	// Table is the routing table holding the local routes; not 0 and not
	// the kernel's own 253-255.
	Table int
	// Priority of the rules; 100 when 0. It must come before the main
	// table's 32766.
	Priority int
	// Families to set up; both when empty.
	Families []Family
}

func (l LocalDelivery) prio() int {
	if l.Priority == 0 {
		return 100
	}
	return l.Priority
}

func (l LocalDelivery) families() []Family {
	if len(l.Families) == 0 {
		return []Family{IPv4, IPv6}
	}
	return l.Families
}

// Validate checks the setup, returning a *FieldError.
func (l LocalDelivery) Validate() error {
	fe := func(field string, err error) error { return &FieldError{Field: field, Err: err} }
	if len(l.Marks) == 0 {
		return fe("marks", ErrMarkZero)
	}
	for i, m := range l.Marks {
		if m == 0 {
			return fe("marks["+strconv.Itoa(i)+"]", ErrMarkZero)
		}
	}
	if l.Table <= 0 || l.Table >= 253 && l.Table <= 255 || int64(l.Table) > 1<<32-1 {
		return fe("table", fmt.Errorf("%w: table %d (want 1-252 or 256 and up; 253-255 are the kernel's)", ErrSyntax, l.Table))
	}
	if p := l.prio(); p < 1 || p >= 32766 {
		return fe("priority", fmt.Errorf("%w: priority %d (want 1-32765, before the main table)", ErrSyntax, p))
	}
	for i, f := range l.Families {
		if f != IPv4 && f != IPv6 {
			return fe("families["+strconv.Itoa(i)+"]", fmt.Errorf("%w: %s", ErrFamily, f))
		}
	}
	return nil
}

// Commands renders the setup as ip(8) commands.
func (l LocalDelivery) Commands() ([]string, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	var out []string
	for _, f := range l.families() {
		ip, any := "ip", "0.0.0.0/0"
		if f == IPv6 {
			ip, any = "ip -6", "::/0"
		}
		for _, m := range l.Marks {
			out = append(out, fmt.Sprintf("%s rule add fwmark %d lookup %d priority %d", ip, m, l.Table, l.prio()))
		}
		out = append(out, fmt.Sprintf("%s route add local %s dev lo table %d", ip, any, l.Table))
	}
	return out, nil
}
