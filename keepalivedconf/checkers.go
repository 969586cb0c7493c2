package keepalivedconf

import (
	"math"
	"strings"
)

// blockOf calls fn for each active statement of s's block.
func (dec *decoder) blockOf(s *Stmt, fn func(*Stmt)) {
	if s.Block == nil {
		dec.d.errorf(s.Pos, ErrSyntax, "missing '{' at beginning of %s block", s.Keyword())
		return
	}
	for _, c := range s.Block.Stmts {
		if active(c) {
			fn(c)
		}
	}
}

// check reads the settings connecting checkers share; extra handles the
// checker's own keywords and reports whether it knew the keyword.
func (dec *decoder) check(cc *CheckCommon, s *Stmt, known map[string]bool, extra func(*Stmt) bool) {
	dec.blockOf(s, func(c *Stmt) {
		kw := c.Keyword()
		if kw != "url" && kw != "host" {
			dec.noBlock(c)
		}
		switch kw {
		case "connect_ip":
			if a, ok := dec.addr(c, 1); ok {
				cc.ConnectIP = a
			}
		case "connect_port":
			if p, ok := dec.port(c, 1); ok {
				cc.ConnectPort = p
			}
		case "bindto":
			if a, ok := dec.addr(c, 1); ok {
				cc.BindTo = a
			}
		case "bind_port":
			if p, ok := dec.port(c, 1); ok {
				cc.BindPort = p
			}
		case "connect_timeout":
			dec.setSeconds(&cc.ConnectTimeout, c, 1, 0.000001, maxTimer)
		case "retry":
			dec.setInt(&cc.Retry, c, 1, 0, math.MaxInt32)
		case "delay_before_retry":
			dec.setSeconds(&cc.DelayBeforeRetry, c, 1, 0, maxTimer)
		case "warmup":
			dec.setSeconds(&cc.Warmup, c, 1, 0, maxTimer)
		case "delay_loop":
			dec.setSeconds(&cc.DelayLoop, c, 1, 0.000001, maxTimer)
		case "fwmark":
			if v, ok := dec.integer(c, 1, 0, math.MaxUint32); ok {
				cc.FWMark = uint32(v)
			}
		case "alpha":
			cc.Alpha = dec.boolArg(c, 1)
		default:
			if (extra == nil || !extra(c)) && !known[kw] {
				dec.unknown(c, known)
			}
		}
	})
}

func (dec *decoder) url(s *Stmt) URL {
	u := URL{Stmt: s}
	dec.blockOf(s, func(c *Stmt) {
		switch c.Keyword() {
		case "path":
			dec.str(&u.Path, c, 1)
		case "digest":
			dec.str(&u.Digest, c, 1)
		case "status_code":
			u.StatusCode = strings.Join(c.Args(), " ")
		case "virtualhost":
			dec.str(&u.Virtualhost, c, 1)
		default:
			if !urlKeywords[c.Keyword()] {
				dec.unknown(c, urlKeywords)
			}
		}
	})
	return u
}

func (dec *decoder) miscCheck(s *Stmt) *MiscCheck {
	m := &MiscCheck{Stmt: s}
	dec.blockOf(s, func(c *Stmt) {
		switch c.Keyword() {
		case "misc_path":
			dec.script(&m.Path, c)
		case "misc_timeout":
			dec.setSeconds(&m.Timeout, c, 1, 0.000001, maxTimer)
		case "misc_dynamic":
			m.Dynamic = true
		case "user":
			dec.str(&m.User, c, 1)
		case "warmup":
			dec.setSeconds(&m.Warmup, c, 1, 0, maxTimer)
		case "retry":
			dec.setInt(&m.Retry, c, 1, 0, math.MaxInt32)
		case "delay_loop":
			dec.setSeconds(&m.DelayLoop, c, 1, 0.000001, maxTimer)
		case "delay_before_retry":
			dec.setSeconds(&m.DelayBefore, c, 1, 0, maxTimer)
		case "alpha":
			m.Alpha = dec.boolArg(c, 1)
		default:
			if !miscCheckKeywords[c.Keyword()] {
				dec.unknown(c, miscCheckKeywords)
			}
		}
	})
	return m
}
