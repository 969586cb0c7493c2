package keepalivedconf

import (
	"math"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

func (dec *decoder) vsGroup(g *VirtualServerGroup, body []*Stmt) {
	for _, s := range body {
		if !active(s) {
			continue
		}
		m := VSGMember{Stmt: s}
		if s.Keyword() == "fwmark" {
			if v, ok := dec.integer(s, 1, 1, math.MaxUint32); ok {
				m.FWMark = uint32(v)
				g.Members = append(g.Members, m)
			}
			continue
		}
		a := s.Arg(0)
		if dash := strings.LastIndexByte(a, '-'); dash > 0 {
			first, err := netip.ParseAddr(a[:dash])
			last, err2 := strconv.ParseUint(a[dash+1:], 10, 16)
			if err != nil || err2 != nil || (first.Is4() && last > 255) {
				dec.d.errorf(s.Pos, ErrInvalid, "virtual server group %s: invalid address range '%s'", g.Name, a)
				continue
			}
			m.Addr = first
			if first.Is4() {
				b := first.As4()
				b[3] = byte(last)
				m.RangeEnd = netip.AddrFrom4(b)
			} else {
				b := first.As16()
				b[14], b[15] = byte(last>>8), byte(last)
				m.RangeEnd = netip.AddrFrom16(b)
			}
		} else if ad, ok := dec.addr(s, 0); ok {
			m.Addr = ad
		} else {
			continue
		}
		if len(s.Tokens) > 1 {
			if p, ok := dec.port(s, 1); ok {
				m.Port = p
			}
		}
		g.Members = append(g.Members, m)
	}
}

// virtualServerHead reads "virtual_server ADDR PORT", "virtual_server
// fwmark N" or "virtual_server group NAME".
func (dec *decoder) virtualServerHead(s *Stmt) *VirtualServer {
	if !dec.nargs(s, 2) {
		return nil
	}
	vs := dec.vss.new()
	*vs = VirtualServer{Stmt: s, DelayLoop: 60 * time.Second}
	switch s.Arg(1) {
	case "fwmark":
		if v, ok := dec.integer(s, 2, 1, math.MaxUint32); ok {
			vs.FWMark = uint32(v)
		} else {
			return nil
		}
	case "group":
		if !dec.nargs(s, 3) {
			return nil
		}
		vs.Group = s.Arg(2)
	default:
		a, ok := dec.addr(s, 1)
		if !ok {
			return nil
		}
		var p uint16
		if len(s.Tokens) > 2 {
			if p, ok = dec.port(s, 2); !ok {
				return nil
			}
		}
		vs.Addr = netip.AddrPortFrom(a, p)
	}
	return vs
}

// schedulers are the IPVS schedulers keepalived accepts for lb_algo (sched
// owns the list; internal/conv pins this copy to sched.Names()).
var schedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"}

func (dec *decoder) virtualServer(vs *VirtualServer, body []*Stmt) {
	n := 0
	for _, s := range body {
		if s.Kind == KindStmt && len(s.Tokens) > 0 && s.Tokens[0].Text == "real_server" {
			n++
		}
	}
	if n > 0 {
		vs.RealServers = dec.rsLists.slice(n)
	} else {
		vs.RealServers = make([]*RealServer, 0)
	}
	for i := 0; i < len(body); i++ {
		s := body[i]
		if !active(s) {
			continue
		}
		kw := s.Keyword()
		if kw != "real_server" && kw != "sorry_server" {
			dec.noBlock(s)
		}
		switch kw {
		case "delay_loop":
			dec.setSeconds(&vs.DelayLoop, s, 1, 0.000001, maxTimer)
		case "lb_algo", "lvs_sched":
			if dec.nargs(s, 2) {
				v := s.Arg(1)
				ok := false
				for _, sc := range schedulers {
					ok = ok || sc == v
				}
				if !ok {
					dec.d.errorf(s.ArgPos(1), ErrInvalid, "invalid scheduler '%s'", v)
				}
				vs.LBAlgo = v
			}
		case "lb_kind", "lvs_method":
			if dec.nargs(s, 2) {
				if k, ok := parseLBKind(s.Arg(1)); ok {
					vs.LBKind = k
				} else {
					dec.d.errorf(s.ArgPos(1), ErrInvalid, "invalid forwarding method '%s'", s.Arg(1))
				}
			}
		case "protocol":
			if dec.nargs(s, 2) {
				// keepalived reads the names in upper case only
				switch v := s.Arg(1); v {
				case "TCP":
					vs.Protocol = TCP
				case "UDP":
					vs.Protocol = UDP
				case "SCTP":
					vs.Protocol = SCTP
				default:
					dec.d.errorf(s.ArgPos(1), ErrInvalid, "unknown protocol '%s'", v)
				}
			}
		case "persistence_timeout":
			dec.setSeconds(&vs.PersistenceTimeout, s, 1, 1, math.MaxUint32)
		case "persistence_granularity":
			dec.granularity(vs, s)
		case "virtualhost":
			dec.str(&vs.VirtualHost, s, 1)
		case "sorry_server":
			if a, ok := dec.addr(s, 1); ok {
				var p uint16
				if len(s.Tokens) > 2 {
					p, _ = dec.port(s, 2)
				}
				vs.SorryServer = netip.AddrPortFrom(a, p)
			}
		case "quorum":
			dec.setInt(&vs.Quorum, s, 1, 1, math.MaxUint32)
		case "hysteresis":
			dec.setInt(&vs.Hysteresis, s, 1, 0, math.MaxUint32)
		case "quorum_up":
			dec.script(&vs.QuorumUp, s)
		case "quorum_down":
			dec.script(&vs.QuorumDown, s)
		case "alpha":
			vs.Alpha = true
		case "omega":
			vs.Omega = true
		case "inhibit_on_failure":
			vs.Inhibit = true
		case "real_server":
			rs := dec.realServerHead(s)
			rbody, n := dec.body(s, body[i+1:])
			i += n
			if rs != nil {
				dec.realServer(rs, rbody)
				vs.RealServers = append(vs.RealServers, rs)
			}
		default:
			if !vsKeywords[kw] {
				dec.unknown(s, vsKeywords)
			}
		}
	}
}

func (dec *decoder) realServerHead(s *Stmt) *RealServer {
	a, ok := dec.addr(s, 1)
	if !ok {
		return nil
	}
	rs := dec.rss.new()
	*rs = RealServer{Stmt: s, Weight: 1}
	var p uint16
	if len(s.Tokens) > 2 {
		if p, ok = dec.port(s, 2); !ok {
			return nil
		}
	}
	rs.Addr = netip.AddrPortFrom(a, p)
	return rs
}

func (dec *decoder) realServer(rs *RealServer, body []*Stmt) {
	for _, s := range body {
		if !active(s) {
			continue
		}
		kw := s.Keyword()
		var c Checker
		switch kw {
		case "weight":
			dec.noBlock(s)
			dec.setInt(&rs.Weight, s, 1, 0, math.MaxInt32)
		case "inhibit_on_failure":
			dec.noBlock(s)
			rs.InhibitOnFailure = dec.boolArg(s, 1)
		case "notify_up":
			dec.script(&rs.NotifyUp, s)
		case "notify_down":
			dec.script(&rs.NotifyDown, s)
		case "TCP_CHECK":
			t := dec.tcp.new()
			t.Stmt = s
			dec.check(&t.CheckCommon, s, tcpCheckKeywords, nil)
			c = t
			if rs.Checkers == nil {
				// the usual single checker: no slice growth later
				rs.Checkers = dec.checkers.slice(1)
			}
		case "HTTP_GET", "SSL_GET":
			h := &HTTPCheck{CheckCommon: CheckCommon{Stmt: s}, TLS: kw == "SSL_GET"}
			dec.check(&h.CheckCommon, s, httpCheckKeywords, func(c *Stmt) bool {
				switch c.Keyword() {
				case "url":
					h.URLs = append(h.URLs, dec.url(c))
				case "virtualhost":
					dec.str(&h.Virtualhost, c, 1)
				case "nb_get_retry":
					dec.d.add(c.Pos, sevWarning, ErrInvalid, "nb_get_retry is deprecated - please use 'retry'")
					dec.setInt(&h.Retry, c, 1, 0, math.MaxInt32)
				case "enable_sni", "tls_compliant", "http_protocol", "fast_recovery":
				default:
					return false
				}
				return true
			})
			c = h
		case "SMTP_CHECK":
			m := &SMTPCheck{CheckCommon: CheckCommon{Stmt: s}}
			dec.check(&m.CheckCommon, s, tcpCheckKeywords, func(c *Stmt) bool {
				switch c.Keyword() {
				case "helo_name":
					dec.str(&m.Helo, c, 1)
				case "host":
				default:
					return false
				}
				return true
			})
			c = m
		case "DNS_CHECK":
			d := &DNSCheck{CheckCommon: CheckCommon{Stmt: s}}
			dec.check(&d.CheckCommon, s, tcpCheckKeywords, func(c *Stmt) bool {
				switch c.Keyword() {
				case "type":
					if dec.nargs(c, 2) {
						if qt, ok := parseDNSType(c.Arg(1)); ok {
							d.QueryType = qt
						} else {
							dec.d.errorf(c.ArgPos(1), ErrInvalid, "Unknown DNS check type %s - ignoring", c.Arg(1))
						}
					}
				case "name":
					dec.str(&d.Name, c, 1)
				default:
					return false
				}
				return true
			})
			c = d
		case "UDP_CHECK":
			u := &UDPCheck{CheckCommon: CheckCommon{Stmt: s}}
			dec.check(&u.CheckCommon, s, tcpCheckKeywords, func(c *Stmt) bool {
				switch c.Keyword() {
				case "payload":
					// keepalived joins the words (make_strvec_str)
					if dec.nargs(c, 2) {
						u.Payload = strings.Join(c.Args(), " ")
					}
				case "require_reply":
					u.RequireReply = strings.Join(c.Args(), " ")
				case "min_reply_length", "max_reply_length":
				default:
					return false
				}
				return true
			})
			c = u
		case "PING_CHECK", "ICMP_CHECK":
			p := &PingCheck{CheckCommon{Stmt: s}}
			dec.check(&p.CheckCommon, s, tcpCheckKeywords, nil)
			c = p
		case "MISC_CHECK":
			c = dec.miscCheck(s)
		case "FILE_CHECK":
			f := &FileCheck{Stmt: s}
			dec.blockOf(s, func(c *Stmt) {
				switch c.Keyword() {
				case "track_file":
					dec.str(&f.TrackFile, c, 1)
				case "weight":
					// keepalived's FILE_CHECK takes any IPVS weight
					// (check_file.c, IPVS_WEIGHT_LIMIT)
					dec.setInt(&f.Weight, c, 1, -math.MaxInt32, math.MaxInt32)
					f.Reverse = len(c.Tokens) > 2 && c.Arg(2) == "reverse"
				default:
					dec.unknown(c, nil)
				}
			})
			c = f
		case "BFD_CHECK":
			b := &BFDCheck{Stmt: s}
			dec.blockOf(s, func(c *Stmt) {
				switch c.Keyword() {
				case "name":
					dec.str(&b.Name, c, 1)
				default:
					dec.unknown(c, nil)
				}
			})
			c = b
		default:
			if !rsKeywords[kw] {
				dec.unknown(s, rsKeywords)
			}
		}
		if c != nil {
			rs.Checkers = append(rs.Checkers, c)
		}
	}
}

// granularity reads persistence_granularity as keepalived does: for an
// IPv4 service (or, without an address, a word with a '.') a netmask, for
// an IPv6 service a prefix length from 1 to 128. It keeps the prefix
// length; a netmask that is not a prefix (keepalived passes it to IPVS,
// which applies it bit by bit) is not supported.
func (dec *decoder) granularity(vs *VirtualServer, s *Stmt) {
	if !dec.nargs(s, 2) {
		return
	}
	w := s.Arg(1)
	v6 := vs.Addr.Addr().Is6()
	if !vs.Addr.IsValid() {
		v6 = !strings.Contains(w, ".")
	}
	if v6 {
		n, err := strconv.ParseUint(w, 10, 8)
		if err != nil || n < 1 || n > 128 {
			dec.d.errorf(s.ArgPos(1), ErrInvalid, "Invalid IPv6 persistence_granularity specified - %s", w)
			return
		}
		vs.PersistenceGranularity = int(n)
		return
	}
	a, err := netip.ParseAddr(w)
	if err != nil || !a.Is4() {
		dec.d.errorf(s.ArgPos(1), ErrInvalid, "Invalid IPv4 persistence_granularity specified - %s", w)
		return
	}
	b := a.As4()
	m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := bits.LeadingZeros32(^m)
	if m<<ones != 0 || ones == 0 {
		dec.d.errorf(s.ArgPos(1), ErrInvalid, "persistence_granularity %s is not a prefix netmask: not supported", w)
		return
	}
	vs.PersistenceGranularity = ones
}
