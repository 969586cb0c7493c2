package keepalivedconf

import (
	"strings"
)

func (dec *decoder) globalDefs(g *GlobalDefs, body []*Stmt) {
	for _, s := range body {
		if !active(s) {
			continue
		}
		kw := s.Keyword()
		if kw != "notification_email" {
			dec.noBlock(s)
		}
		switch kw {
		case "notification_email":
			for _, v := range dec.values(s, blockStmts(s)) {
				for _, t := range v.Tokens {
					g.NotificationEmail = append(g.NotificationEmail, t.Value())
				}
			}
		case "notification_email_from":
			dec.str(&g.NotificationEmailFrom, s, 1)
		case "smtp_server":
			if dec.nargs(s, 2) {
				g.SMTPServer = s.Arg(1)
				if len(s.Tokens) > 2 {
					if p, ok := dec.port(s, 2); ok {
						g.SMTPPort = p
					}
				}
			}
		case "smtp_connect_timeout":
			dec.setSeconds(&g.SMTPConnectTimeout, s, 1, 1, maxTimer)
		case "router_id":
			dec.str(&g.RouterID, s, 1)
		case "vrrp_mcast_group4":
			if a, ok := dec.addr(s, 1); ok {
				if !a.Is4() || !a.IsMulticast() {
					dec.d.errorf(s.ArgPos(1), ErrInvalid, "vrrp_mcast_group4: '%s' is not an IPv4 multicast address", s.Arg(1))
				} else {
					g.VRRPMcastGroup4 = a
				}
			}
		case "vrrp_mcast_group6":
			if a, ok := dec.addr(s, 1); ok {
				if !a.Is6() || !a.IsMulticast() {
					dec.d.errorf(s.ArgPos(1), ErrInvalid, "vrrp_mcast_group6: '%s' is not an IPv6 multicast address", s.Arg(1))
				} else {
					g.VRRPMcastGroup6 = a
				}
			}
		case "vrrp_version":
			dec.setInt(&g.VRRPVersion, s, 1, 2, 3)
		case "vrrp_strict":
			g.VRRPStrict = true
		case "enable_script_security":
			g.EnableScriptSecurity = true
		case "script_user":
			dec.str(&g.ScriptUser, s, 1)
			if len(s.Tokens) > 2 {
				g.ScriptGroup = s.Arg(2)
			}
		case "vrrp_skip_check_adv_addr":
			g.VRRPSkipCheckAdvAddr = true
		case "vmac_prefix":
			dec.str(&g.VMACPrefix, s, 1)
		case "lvs_id":
			dec.str(&g.LVSID, s, 1)
		default:
			if dec.lvsGlobal(g, s) {
				continue
			}
			if !globalKeywords[kw] {
				dec.unknown(s, globalKeywords)
				continue
			}
			if g.Other == nil {
				g.Other = map[string]any{}
			}
			g.Other[kw] = strings.Join(s.Args(), " ")
		}
	}
}
