package keepalivedconf

import (
	"errors"
	"net/netip"
	"strconv"
	"time"
)

// errNoBlock is returned by edits on an element read from a statement
// without a { } block (a file keepalived rejects).
var errNoBlock = errors.New("keepalivedconf: element has no { } block to edit")

// SetPriority changes the instance's priority, editing its priority line
// (or adding one).
func (in *VRRPInstance) SetPriority(p int) error {
	if p < 1 || p > 255 {
		return errors.New("keepalivedconf: priority outside 1..255")
	}
	if in.Stmt.Block == nil {
		return errNoBlock
	}
	in.Stmt.Block.Set("priority", strconv.Itoa(p))
	in.Priority = p
	return nil
}

// SetState changes the instance's state (StateMaster or StateBackup).
func (in *VRRPInstance) SetState(state State) error {
	if state != StateMaster && state != StateBackup {
		return errors.New("keepalivedconf: state must be MASTER or BACKUP")
	}
	if in.Stmt.Block == nil {
		return errNoBlock
	}
	in.Stmt.Block.Set("state", state.String())
	in.State = state
	return nil
}

// AddVIP adds an address to virtual_ipaddress, creating the block if
// needed.
func (in *VRRPInstance) AddVIP(p netip.Prefix) error {
	if in.Stmt.Block == nil {
		return errNoBlock
	}
	blk := in.Stmt.Block.Find("virtual_ipaddress")
	if blk == nil || blk.Block == nil {
		blk = in.Stmt.Block.Add(NewStmt("virtual_ipaddress").WithBlock())
	}
	word := p.String()
	if p.IsSingleIP() {
		word = p.Addr().String()
	}
	s := blk.Block.Add(NewStmt(word))
	in.VIPs = append(in.VIPs, VIP{Prefix: p, Stmt: s})
	return nil
}

// RemoveVIP removes the virtual_ipaddress entry for the address of p (its
// whole line, comment included) and reports whether there was one.
func (in *VRRPInstance) RemoveVIP(p netip.Prefix) bool {
	blk := in.Stmt.Block.Find("virtual_ipaddress")
	if blk == nil || blk.Block == nil {
		return false
	}
	for i, v := range in.VIPs {
		if v.Prefix.Addr() == p.Addr() && blk.Block.Remove(v.Stmt) {
			in.VIPs = append(in.VIPs[:i:i], in.VIPs[i+1:]...)
			return true
		}
	}
	return false
}

// AddRealServer appends a real_server block built from rs (address,
// weight, inhibit_on_failure, notify scripts and TCP/HTTP/MISC checkers)
// after the last real_server of the virtual server, and returns rs with its
// Stmt set.
func (vs *VirtualServer) AddRealServer(rs *RealServer) (*RealServer, error) {
	if vs.Stmt.Block == nil {
		return nil, errNoBlock
	}
	rs.Stmt = vs.Stmt.Block.Add(rs.stmt())
	vs.RealServers = append(vs.RealServers, rs)
	return rs, nil
}

// RemoveRealServer removes the real_server block with the given address
// and reports whether there was one.
func (vs *VirtualServer) RemoveRealServer(addr netip.AddrPort) bool {
	if vs.Stmt.Block == nil {
		return false
	}
	for i, rs := range vs.RealServers {
		if rs.Addr == addr && vs.Stmt.Block.Remove(rs.Stmt) {
			vs.RealServers = append(vs.RealServers[:i:i], vs.RealServers[i+1:]...)
			return true
		}
	}
	return false
}

// SetWeight changes the real server's weight.
func (rs *RealServer) SetWeight(w int) error {
	if w < 0 || w > 65535 {
		return errors.New("keepalivedconf: weight outside 0..65535")
	}
	if rs.Stmt.Block == nil {
		return errNoBlock
	}
	rs.Stmt.Block.Set("weight", strconv.Itoa(w))
	rs.Weight = w
	return nil
}

// seconds formats a duration the way keepalived reads it.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

func (rs *RealServer) stmt() *Stmt {
	s := NewStmt("real_server", rs.Addr.Addr().String(), strconv.Itoa(int(rs.Addr.Port()))).WithBlock()
	b := s.Block
	b.Stmts = append(b.Stmts, NewStmt("weight", strconv.Itoa(rs.Weight)))
	if rs.InhibitOnFailure {
		b.Stmts = append(b.Stmts, NewStmt("inhibit_on_failure"))
	}
	if rs.NotifyUp != "" {
		b.Stmts = append(b.Stmts, NewStmt("notify_up", rs.NotifyUp))
	}
	if rs.NotifyDown != "" {
		b.Stmts = append(b.Stmts, NewStmt("notify_down", rs.NotifyDown))
	}
	for _, c := range rs.Checkers {
		cs := NewStmt(c.Type()).WithBlock()
		switch c := c.(type) {
		case *TCPCheck:
			c.Stmt = cs
			c.CheckCommon.appendTo(cs.Block)
		case *HTTPCheck:
			c.Stmt = cs
			for i := range c.URLs {
				u := &c.URLs[i]
				us := NewStmt("url").WithBlock(NewStmt("path", u.Path))
				if u.Digest != "" {
					us.Block.Stmts = append(us.Block.Stmts, NewStmt("digest", u.Digest))
				}
				if u.StatusCode != "" {
					us.Block.Stmts = append(us.Block.Stmts, NewStmt("status_code", u.StatusCode))
				}
				u.Stmt = us
				cs.Block.Stmts = append(cs.Block.Stmts, us)
			}
			c.CheckCommon.appendTo(cs.Block)
		case *MiscCheck:
			c.Stmt = cs
			cs.Block.Stmts = append(cs.Block.Stmts, NewStmt("misc_path", c.Path))
			if c.Timeout > 0 {
				cs.Block.Stmts = append(cs.Block.Stmts, NewStmt("misc_timeout", seconds(c.Timeout)))
			}
			if c.Dynamic {
				cs.Block.Stmts = append(cs.Block.Stmts, NewStmt("misc_dynamic"))
			}
		default:
			continue
		}
		b.Stmts = append(b.Stmts, cs)
	}
	return s
}

func (cc *CheckCommon) appendTo(b *Block) {
	add := func(words ...string) { b.Stmts = append(b.Stmts, NewStmt(words...)) }
	if cc.ConnectIP.IsValid() {
		add("connect_ip", cc.ConnectIP.String())
	}
	if cc.ConnectPort != 0 {
		add("connect_port", strconv.Itoa(int(cc.ConnectPort)))
	}
	if cc.BindTo.IsValid() {
		add("bindto", cc.BindTo.String())
	}
	if cc.ConnectTimeout > 0 {
		add("connect_timeout", seconds(cc.ConnectTimeout))
	}
	if cc.Retry > 0 {
		add("retry", strconv.Itoa(cc.Retry))
	}
	if cc.DelayBeforeRetry > 0 {
		add("delay_before_retry", seconds(cc.DelayBeforeRetry))
	}
	if cc.DelayLoop > 0 {
		add("delay_loop", seconds(cc.DelayLoop))
	}
}
