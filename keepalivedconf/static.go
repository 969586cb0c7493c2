package keepalivedconf

import (
	"net/netip"
	"strconv"
)

// Route is one virtual_routes or static_routes entry, written in
// `ip route` syntax as keepalived reads it:
//
//	[src ADDR] [to] [TYPE] PREFIX [via ADDR] [dev IF] [table N] [metric N] [scope S] [protocol P] [no_track]
type Route struct {
	Dst netip.Prefix
	// Type is the route type word before the prefix (blackhole,
	// unreachable, prohibit, throw, ...); empty for unicast.
	Type string `json:",omitempty"`
	// Src is the preferred source (src); Via the gateway (via or gw).
	Src netip.Addr `json:",omitzero"`
	Via netip.Addr `json:",omitzero"`
	// Dev is the output interface (dev or oif).
	Dev string `json:",omitempty"`
	// Table is the routing table; 0 when not written (main).
	Table int `json:",omitempty"`
	// Metric is metric, priority or preference.
	Metric int `json:",omitempty"`
	// Scope is the route scope; HasScope says it was written.
	Scope    Scope `json:",omitempty"`
	HasScope bool  `json:",omitempty"`
	// Protocol is the protocol written, 0 when none (keepalived then
	// uses its own, 18).
	Protocol int `json:",omitempty"`
	// NoTrack is no_track; Tracked says keepalived tracks the route
	// (it has an interface and no no_track).
	NoTrack bool `json:",omitempty"`
	Tracked bool `json:",omitempty"`
	// Other lists the option words keepalived reads that are not typed
	// here (nexthop, onlink, mtu, encap, add, append, ...), each with the
	// words after it: a program that cannot act on them refuses the route.
	Other []string `json:",omitempty"`
	Stmt  *Stmt    `json:"-"`
}

// Rule is one virtual_rules or static_rules entry, written in `ip rule`
// syntax:
//
//	[from PREFIX|all] [to PREFIX|all] [table|lookup N] [preference|prio|priority N] [no_track]
type Rule struct {
	// From and To are zero for "all" or when not written.
	From netip.Prefix `json:",omitzero"`
	To   netip.Prefix `json:",omitzero"`
	// IPv6 is the rule's family (from its addresses, or inet6).
	IPv6 bool `json:",omitempty"`
	// Table is the table looked up (table or lookup).
	Table int `json:",omitempty"`
	// Priority is preference, prio or priority; 0 when not written.
	Priority int  `json:",omitempty"`
	NoTrack  bool `json:",omitempty"`
	// Other lists the options not typed here (fwmark, iif, oif, goto,
	// not, ...), as for Route.
	Other []string `json:",omitempty"`
	Stmt  *Stmt    `json:"-"`
}

// routeTypes are the route type words keepalived accepts before a
// destination (iproute2's rtnl_rtntype names).
var routeTypes = map[string]bool{
	"unicast": true, "local": true, "broadcast": true, "anycast": true, "multicast": true,
	"blackhole": true, "unreachable": true, "prohibit": true, "throw": true, "nat": true, "xresolve": true,
}

// tableNumber reads a routing table as keepalived does: a number or one
// of the reserved names.
func tableNumber(w string) (int, bool) {
	switch w {
	case "main":
		return 254, true
	case "local":
		return 255, true
	case "default":
		return 253, true
	}
	n, err := strconv.ParseUint(w, 0, 32)
	return int(n), err == nil
}

// parsePrefix reads an address with or without a prefix length.
func parsePrefix(w string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(w); err == nil {
		return p, true
	}
	if a, err := netip.ParseAddr(w); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// route reads one virtual_routes or static_routes entry and makes
// keepalived's checks of it.
func (dec *decoder) route(s *Stmt) (Route, bool) {
	r := Route{Stmt: s}
	n := len(s.Tokens)
	word := func(i int) string {
		if i < n {
			return s.Arg(i)
		}
		return ""
	}
	ok := true
	bad := func(i int, f string, a ...any) {
		dec.d.errorf(s.ArgPos(min(i, n-1)), ErrInvalid, f, a...)
		ok = false
	}
	addr := func(i int, what string) netip.Addr {
		a, err := netip.ParseAddr(word(i))
		if err != nil {
			bad(i, "invalid %s address %s", what, word(i))
		}
		return a
	}
	number := func(i int, what string) int {
		v, err := strconv.ParseUint(word(i), 0, 32)
		if err != nil {
			bad(i, "invalid %s %s", what, word(i))
		}
		return int(v)
	}
	for i := 0; i < n && ok; i++ {
		switch w := s.Arg(i); w {
		case "inet", "inet6", "prepend":
			// The family follows from the addresses; prepend is the
			// kernel's default, which keepalived uses too.
		case "src":
			i++
			r.Src = addr(i, "src")
		case "via", "gw":
			if w == "gw" {
				dec.d.add(s.ArgPos(i), sevWarning, ErrInvalid, "\"gw\" for routes is deprecated, use \"via\"")
			}
			i++
			if word(i) == "inet" || word(i) == "inet6" {
				i++
			}
			r.Via = addr(i, "via")
		case "dev", "oif":
			i++
			if word(i) == "" {
				bad(i, "missing interface after %s", w)
			}
			r.Dev = word(i)
		case "table":
			i++
			t, good := tableNumber(word(i))
			if !good {
				// A name from /etc/iproute2/rt_tables: not typed.
				r.Other = append(r.Other, "table "+word(i))
			}
			r.Table = t
		case "metric", "priority", "preference":
			i++
			r.Metric = number(i, w)
		case "scope":
			i++
			sc, good := parseScope(word(i))
			if !good {
				bad(i, "invalid scope %s", word(i))
			}
			r.Scope, r.HasScope = sc, true
		case "protocol":
			i++
			p, err := strconv.ParseUint(word(i), 0, 8)
			if err != nil {
				// A name from /etc/iproute2/rt_protos: not typed.
				r.Other = append(r.Other, "protocol "+word(i))
			}
			r.Protocol = int(p)
		case "no_track":
			r.NoTrack = true
		case "or":
			dec.d.add(s.ArgPos(i), sevWarning, ErrInvalid, "\"or\" for routes is deprecated, use \"nexthop\"")
			r.Other = append(r.Other, "or "+word(i+1))
			i++
		case "nexthop":
			// Every word to the end belongs to the next hops.
			r.Other = append(r.Other, "nexthop")
			i = n
		case "onlink", "add", "append":
			r.Other = append(r.Other, w)
		case "from", "tos", "dsfield", "as", "track_group", "vrf", "encap", "expires", "mtu", "hoplimit",
			"advmss", "rtt", "rttvar", "reordering", "window", "cwnd", "ssthresh", "realms", "rto_min",
			"initcwnd", "initrwnd", "features", "quickack", "congctl", "pref", "ttl-propagate", "fastopen_no_cookie":
			// Options with (at least) one argument lvskit does not type.
			r.Other = append(r.Other, w+" "+word(i+1))
			i++
			if word(i) == "lock" || word(i) == "to" {
				i++
			}
		default:
			if w == "to" {
				i++
			}
			if routeTypes[word(i)] {
				if word(i) != "unicast" {
					r.Type = word(i)
				}
				i++
			}
			d := word(i)
			if d == "default" {
				d = "0.0.0.0/0"
				if r.Via.Is6() || r.Src.Is6() {
					d = "::/0"
				}
			}
			p, good := parsePrefix(d)
			if !good {
				bad(i, "unknown route keyword %s", word(i))
				break
			}
			r.Dst = p.Masked()
		}
	}
	if !ok {
		return r, false
	}
	if !r.Dst.IsValid() {
		dec.d.errorf(s.Pos, ErrInvalid, "route must have a destination")
		return r, false
	}
	for _, a := range []netip.Addr{r.Src, r.Via} {
		if a.IsValid() && a.Is6() != r.Dst.Addr().Is6() {
			dec.d.errorf(s.Pos, ErrInvalid, "cannot mix IPv4 and IPv6 addresses for route (%s)", r.Dst)
			return r, false
		}
	}
	r.Tracked = !r.NoTrack && r.Dev != ""
	if !r.NoTrack && r.Dev == "" {
		dec.d.add(s.Pos, sevWarning, ErrInvalid, "cannot track route %s with no interface specified, not tracking", r.Dst)
	}
	return r, true
}

// rule reads one virtual_rules or static_rules entry and makes keepalived's
// checks of it.
func (dec *decoder) rule(s *Stmt) (Rule, bool) {
	r := Rule{Stmt: s}
	n := len(s.Tokens)
	word := func(i int) string {
		if i < n {
			return s.Arg(i)
		}
		return ""
	}
	ok, pref := true, false
	for i := 0; i < n; i++ {
		switch w := s.Arg(i); w {
		case "inet6":
			r.IPv6 = true
		case "inet":
		case "from", "to":
			i++
			v := word(i)
			if v == "all" {
				continue
			}
			p, good := parsePrefix(v)
			if !good {
				dec.d.errorf(s.ArgPos(min(i, n-1)), ErrInvalid, "invalid rule %s address %s", w, v)
				ok = false
				continue
			}
			if p.Addr().Is6() {
				r.IPv6 = true
			}
			if w == "from" {
				r.From = p.Masked()
			} else {
				r.To = p.Masked()
			}
		case "table", "lookup":
			i++
			t, good := tableNumber(word(i))
			if !good {
				r.Other = append(r.Other, "table "+word(i))
			}
			r.Table = t
		case "preference", "prio", "priority":
			pref = true
			i++
			v, err := strconv.ParseUint(word(i), 0, 32)
			if err != nil {
				dec.d.errorf(s.ArgPos(min(i, n-1)), ErrInvalid, "invalid rule %s %s", w, word(i))
				ok = false
			}
			r.Priority = int(v)
		case "no_track":
			r.NoTrack = true
		case "not", "l3mdev", "blackhole", "unreachable", "prohibit", "nop":
			r.Other = append(r.Other, w)
		default:
			// fwmark, realms, goto, iif, oif, uidrange, sport, dport,
			// ipproto, tos, suppress_*, protocol, track_group: one
			// argument each.
			r.Other = append(r.Other, w+" "+word(i+1))
			i++
		}
	}
	if !pref {
		dec.d.add(s.Pos, sevWarning, ErrInvalid, "rule has no preference specified; keepalived picks one, which is probably not what you want")
	}
	if r.From.IsValid() && r.To.IsValid() && r.From.Addr().Is6() != r.To.Addr().Is6() {
		dec.d.errorf(s.Pos, ErrInvalid, "cannot mix IPv4 and IPv6 addresses in a rule")
		ok = false
	}
	return r, ok
}
