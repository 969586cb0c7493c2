package fwmark

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// DRMethod is one of the seed's three ways (section 3.2) to keep a Direct
// Routing real server from answering ARP for the virtual IP that only the
// active director may own.
type DRMethod uint8

// Direct Routing real-server methods.
const (
	// DRSysctl puts the VIPs on lo and sets arp_ignore=1 and
	// arp_announce=2 on the director-facing interface (section 3.2.4).
	DRSysctl DRMethod = iota + 1
	// DRARP puts the VIPs on the interface and filters ARP: requests for
	// a VIP are dropped, and outgoing ARP with a VIP as sender carries the
	// real IP instead. The seed does this with arptables (section 3.2.1);
	// lvskit installs the equivalent nft "arp" table.
	DRARP
	// DRRedirect holds no VIP at all: packets to VIP:port are redirected to
	// the local socket by NAT, like the seed's iptables/firewalld REDIRECT
	// rules (sections 3.2.2, 3.2.3).
	DRRedirect
)

// String returns "sysctl", "arp" or "redirect".
func (m DRMethod) String() string {
	switch m {
	case DRSysctl:
		return "sysctl"
	case DRARP:
		return "arp"
	case DRRedirect:
		return "redirect"
	}
	return "method(" + strconv.Itoa(int(m)) + ")"
}

// ParseDRMethod parses "sysctl", "arp" or "redirect".
func ParseDRMethod(s string) (DRMethod, error) {
	for _, m := range []DRMethod{DRSysctl, DRARP, DRRedirect} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown Direct Routing method %q (want sysctl, arp or redirect)", ErrSyntax, s)
}

// Service is a protocol and port served on a VIP.
type Service struct {
	Protocol Protocol
	Port     uint16
}

// DefaultDRTable names the nftables tables lvskit owns on a real server.
const DefaultDRTable = "lvskit_dr"

// RealServer is the Direct Routing setup of one real server.
type RealServer struct {
	Method DRMethod
	// VIPs are the virtual addresses the server must accept packets for.
	VIPs []netip.Addr
	// Interface faces the director: DRSysctl sets the ARP sysctls on it,
	// DRARP puts the VIPs on it.
	Interface string
	// RealIP (DRARP, IPv4) replaces a VIP as the sender of outgoing ARP.
	RealIP netip.Addr
	// Services (DRRedirect) lists what to redirect on every VIP.
	Services []Service
	// Table names the nft table for DRARP and DRRedirect; DefaultDRTable
	// when empty.
	Table string
}

func (r RealServer) table() string {
	if r.Table == "" {
		return DefaultDRTable
	}
	return r.Table
}

// Validate checks the setup, returning a *FieldError.
func (r RealServer) Validate() error {
	fe := func(field string, err error) error { return &FieldError{Field: field, Err: err} }
	switch r.Method {
	case DRSysctl, DRARP, DRRedirect:
	default:
		return fe("method", fmt.Errorf("%w: unknown Direct Routing method %d", ErrSyntax, r.Method))
	}
	if len(r.VIPs) == 0 {
		return fe("vips", ErrNoDestination)
	}
	for i, a := range r.VIPs {
		f := "vips[" + strconv.Itoa(i) + "]"
		switch {
		case !a.IsValid():
			return fe(f, ErrNoDestination)
		case a.Is4In6() || a.Zone() != "":
			return fe(f, fmt.Errorf("%w: %s; write a plain IPv4 or IPv6 address", ErrFamily, a))
		case r.Method == DRARP && !a.Is4():
			return fe(f, fmt.Errorf("%w: %s: ARP filtering is for IPv4 VIPs only", ErrFamily, a))
		}
	}
	if r.Table != "" && !validName(r.Table) {
		return fe("table", fmt.Errorf("%w: bad table name %q", ErrSyntax, r.Table))
	}
	switch r.Method {
	case DRSysctl, DRARP:
		if !validIface(r.Interface) {
			return fe("interface", fmt.Errorf("%w: interface name required (got %q)", ErrSyntax, r.Interface))
		}
	}
	if r.Method == DRARP && (!r.RealIP.Is4() || r.RealIP.IsUnspecified()) {
		return fe("real_ip", fmt.Errorf("%w: the ARP method needs the server's IPv4 address (got %v)", ErrFamily, r.RealIP))
	}
	if r.Method == DRRedirect {
		if len(r.Services) == 0 {
			return fe("services", errors.New("redirect method needs at least one protocol and port"))
		}
		for i, s := range r.Services {
			f := "services[" + strconv.Itoa(i) + "]"
			if _, err := ParseProtocol(s.Protocol.String()); err != nil {
				return fe(f, err)
			}
			if s.Port == 0 {
				return fe(f, ErrPortZero)
			}
		}
	}
	return nil
}

func hostPrefix(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

// Commands renders the setup as the shell commands the seed gives for its
// method (iptables for DRRedirect).
func (r RealServer) Commands() ([]string, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	var out []string
	switch r.Method {
	case DRSysctl:
		for _, v := range r.VIPs {
			out = append(out, "ip addr add "+hostPrefix(v).String()+" dev lo")
		}
		kv := ARPKeys(r.Interface)
		for i := 0; i < len(kv); i += 2 {
			out = append(out, "echo "+kv[i+1]+" > /proc/sys/"+kv[i])
		}
	case DRARP:
		for _, v := range r.VIPs {
			out = append(out,
				"arptables -A IN -d "+v.String()+" -j DROP",
				"arptables -A OUT -s "+v.String()+" -j mangle --mangle-ip-s "+r.RealIP.String())
		}
		for _, v := range r.VIPs {
			out = append(out, "ip addr add "+v.String()+" dev "+r.Interface)
		}
	case DRRedirect:
		for _, v := range r.VIPs {
			fam := IPv4
			if v.Is6() {
				fam = IPv6
			}
			for _, s := range r.Services {
				out = append(out, fmt.Sprintf("%s -t nat -A PREROUTING -p %s -d %s --dport %d -j REDIRECT",
					iptablesCmd(fam), s.Protocol, v, s.Port))
			}
		}
	}
	return out, nil
}

// SysctlConf renders the DRSysctl settings as /etc/sysctl.d lines
// ("net.ipv4.conf.eth0.arp_ignore = 1"); other methods have none.
func (r RealServer) SysctlConf() ([]string, error) {
	if err := r.Validate(); err != nil || r.Method != DRSysctl {
		return nil, err
	}
	kv := ARPKeys(r.Interface)
	var out []string
	for i := 0; i < len(kv); i += 2 {
		// sysctl.d writes a dot inside an interface name as a slash.
		parts := strings.Split(kv[i], "/")
		for j, p := range parts {
			parts[j] = strings.ReplaceAll(p, ".", "/")
		}
		out = append(out, strings.Join(parts, ".")+" = "+kv[i+1])
	}
	return out, nil
}

// Firewalld renders DRRedirect as the seed's firewall-cmd direct rules
// (section 3.2.2). The other methods have no firewalld form.
func (r RealServer) Firewalld(cfg *FirewalldConfig) ([]string, error) {
	var o FirewalldConfig
	if cfg != nil {
		o = *cfg
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if r.Method != DRRedirect {
		return nil, fmt.Errorf("fwmark: the %s method has no firewalld form", r.Method)
	}
	var out []string
	for _, v := range r.VIPs {
		fam := IPv4
		if v.Is6() {
			fam = IPv6
		}
		for _, s := range r.Services {
			cmd := "firewall-cmd "
			if o.Permanent {
				cmd += "--permanent "
			}
			out = append(out, fmt.Sprintf("%s--direct --add-rule %s nat PREROUTING 0 -d %s -p %s -m %s --dport %d -j REDIRECT",
				cmd, firewalldFamily(fam), v, s.Protocol, s.Protocol, s.Port))
		}
	}
	return o.suffix(out), nil
}

// drRule is one rule of a Direct Routing nft table: its chain, its nft
// text (as `nft list` prints it) and its comment.
type drRule struct {
	chain   string
	text    string
	comment string
	vip     netip.Addr
	svc     Service
}

func (r RealServer) drRules() []drRule {
	var out []drRule
	switch r.Method {
	case DRARP:
		for _, v := range r.VIPs {
			out = append(out, drRule{chain: "input", vip: v,
				text:    "arp daddr ip " + v.String() + " drop",
				comment: "ignore ARP for " + v.String()})
		}
		for _, v := range r.VIPs {
			out = append(out, drRule{chain: "output", vip: v,
				text:    "arp saddr ip " + v.String() + " arp saddr ip set " + r.RealIP.String(),
				comment: "announce " + r.RealIP.String() + " instead of " + v.String()})
		}
	case DRRedirect:
		for _, v := range r.VIPs {
			fam := "ip"
			if v.Is6() {
				fam = "ip6"
			}
			for _, s := range r.Services {
				out = append(out, drRule{chain: "prerouting", vip: v, svc: s,
					text:    fmt.Sprintf("%s daddr %s %s dport %d redirect", fam, v, s.Protocol, s.Port),
					comment: fmt.Sprintf("redirect %s %s", s.Protocol, netip.AddrPortFrom(v, s.Port))})
			}
		}
	}
	return out
}

// NftText renders the DRARP and DRRedirect setups as an nft script that
// atomically replaces lvskit's real-server table, exactly what Apply
// installs. DRSysctl needs no table and renders as "".
func (r RealServer) NftText() (string, error) {
	if err := r.Validate(); err != nil {
		return "", err
	}
	if r.Method == DRSysctl {
		return "", nil
	}
	fam := "arp"
	if r.Method == DRRedirect {
		fam = "inet"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "table %s %s {}\ndelete table %s %s\n", fam, r.table(), fam, r.table())
	b.WriteString(r.nftTable())
	return b.String(), nil
}

// nftTable is the table as `nft list table` prints it.
func (r RealServer) nftTable() string {
	fam := "arp"
	chains := []struct{ name, head string }{
		{"input", "type filter hook input priority filter; policy accept;"},
		{"output", "type filter hook output priority filter; policy accept;"},
	}
	if r.Method == DRRedirect {
		fam = "inet"
		chains = chains[:1]
		chains[0] = struct{ name, head string }{"prerouting", "type nat hook prerouting priority dstnat; policy accept;"}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "table %s %s {\n", fam, r.table())
	for i, c := range chains {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "\tchain %s {\n\t\t%s\n", c.name, c.head)
		for _, dr := range r.drRules() {
			if dr.chain == c.name {
				fmt.Fprintf(&b, "\t\t%s comment %q\n", dr.text, dr.comment)
			}
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}
