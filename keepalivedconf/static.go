package keepalivedconf

import (
	"net/netip"
)

// route makes keepalived's checks of one virtual_routes entry.
func (dec *decoder) route(s *Stmt) {
	dev, track := false, true
	dst := ""
	for i, t := range s.Tokens {
		switch w := t.Value(); w {
		case "dev":
			dev = true
		case "no_track":
			track = false
		case "or":
			dec.d.add(s.ArgPos(i), sevWarning, ErrInvalid, "\"or\" for routes is deprecated, use \"nexthop\"")
		case "gw":
			dec.d.add(s.ArgPos(i), sevWarning, ErrInvalid, "\"gw\" for routes is deprecated, use \"via\"")
		default:
			if dst == "" && (i == 0 || s.Arg(i-1) != "src") {
				if _, err := netip.ParsePrefix(w); err == nil {
					dst = w
				} else if a, err := netip.ParseAddr(w); err == nil {
					dst = netip.PrefixFrom(a, a.BitLen()).String()
				}
			}
		}
	}
	if !dev && track {
		dec.d.add(s.Pos, sevWarning, ErrInvalid, "cannot track route %s with no interface specified, not tracking", dst)
	}
}

// rule makes keepalived's checks of one virtual_rules / static_rules entry.
func (dec *decoder) rule(s *Stmt) {
	pref := false
	for i, t := range s.Tokens {
		switch t.Value() {
		case "preference", "prio", "priority":
			pref = true
		case "from", "to":
			if i+1 >= len(s.Tokens) {
				continue
			}
			w := s.Arg(i + 1)
			if _, err := netip.ParsePrefix(w); err != nil && w != "all" {
				if _, err := netip.ParseAddr(w); err != nil {
					dec.d.errorf(s.ArgPos(i+1), ErrInvalid, "invalid rule %s address %s", t.Value(), w)
				}
			}
		}
	}
	if !pref {
		dec.d.add(s.Pos, sevWarning, ErrInvalid, "rule has no preference specified; keepalived picks one, which is probably not what you want")
	}
}
