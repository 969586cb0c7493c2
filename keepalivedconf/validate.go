package keepalivedconf

import (
	"net/netip"
	"os"
	"path/filepath"
	"time"
)

// validate makes the checks keepalived makes once the whole configuration
// is read: references between blocks and mandatory settings.
func (dec *decoder) validate() {
	cfg := dec.cfg
	instances := make(map[string]*VRRPInstance, len(cfg.Instances))
	for _, in := range cfg.Instances {
		if in.VirtualRouterID == 0 {
			dec.d.errorf(in.Stmt.Pos, ErrInvalid, "(%s) the virtual router id must be set", in.Name)
		}
		instances[in.Name] = in
	}
	scripts := make(map[string]bool, len(cfg.Scripts))
	for _, s := range cfg.Scripts {
		scripts[s.Name] = true
		if s.Script == "" {
			dec.d.errorf(s.Stmt.Pos, ErrInvalid, "vrrp_script %s: no script specified", s.Name)
		}
	}
	for _, in := range cfg.Instances {
		for _, t := range in.TrackScripts {
			if !scripts[t.Name] {
				dec.d.errorf(t.Stmt.Pos, ErrInvalid, "(%s) track script %s not found, ignoring", in.Name, t.Name)
			}
		}
	}
	for _, g := range cfg.SyncGroups {
		for i, name := range g.Group {
			if instances[name] == nil {
				p := g.Stmt.Pos
				if b := g.Stmt.Block.Find("group"); b != nil && b.Block != nil {
					p = groupPos(b, i)
				}
				dec.d.errorf(p, ErrInvalid, "virtual router %s specified in sync group %s doesn't exist - ignoring", name, g.Name)
			}
		}
		n, owners := 0, 0
		for _, name := range g.Group {
			if in := instances[name]; in != nil {
				n++
				// keepalived 2.2.7 counts a MASTER at priority 255 as the
				// address owner (a BACKUP at 255 passes its check)
				if in.Priority == 255 && in.State == StateMaster {
					owners++
				}
			}
		}
		if n < 2 {
			dec.d.add(g.Stmt.Pos, sevWarning, ErrInvalid, "sync group %s has only %d virtual router(s) - this probably isn't what you want", g.Name, n)
		}
		if owners > 0 && owners < n {
			dec.d.add(g.Stmt.Pos, sevWarning, ErrInvalid, "sync group %s has some member(s) as address owner (priority 255) and some not - this won't work", g.Name)
		}
	}
	version := 2
	if cfg.GlobalDefs != nil && cfg.GlobalDefs.VRRPVersion != 0 {
		version = cfg.GlobalDefs.VRRPVersion
	}
	for _, in := range cfg.Instances {
		if in.Nopreempt && in.State == StateMaster {
			dec.d.add(in.Stmt.Pos, sevWarning, ErrInvalid, "(%s) nopreempt will not work with initial state MASTER - clearing", in.Name)
		}
		if in.PreemptDelay > 0 && in.State == StateMaster {
			dec.d.add(in.Stmt.Pos, sevWarning, ErrInvalid, "(%s) preempt delay will not work with initial state MASTER - clearing", in.Name)
		}
		v := version
		if in.Version != 0 {
			v = in.Version
		}
		if v == 2 && in.AdvertInt%time.Second != 0 {
			dec.d.add(in.Stmt.Pos, sevWarning, ErrInvalid, "(%s) VRRPv2 advertisement interval %v must be an integer number of seconds - rounding", in.Name, in.AdvertInt)
		}
		if v == 3 && in.AdvertInt >= 40960*time.Millisecond {
			dec.d.add(in.Stmt.Pos, sevWarning, ErrInvalid, "(%s) VRRPv3 advertisement interval %v is out of range, must be less than 40.96s", in.Name, in.AdvertInt)
		}
		if in.AuthType == AuthTypeAH && in.State == StateMaster {
			dec.d.add(in.Stmt.Pos, sevWarning, ErrInvalid, "(%s) initial state MASTER is incompatible with AH authentication - clearing", in.Name)
		}
		if v == 3 && in.AuthType != 0 {
			dec.d.add(in.Stmt.Pos, sevWarning, ErrInvalid, "(%s) VRRP version 3 does not support authentication - ignoring", in.Name)
		}
	}
	groups := make(map[string]bool, len(cfg.VirtualServerGroups))
	for _, g := range cfg.VirtualServerGroups {
		groups[g.Name] = true
	}
	for _, vs := range cfg.VirtualServers {
		if vs.Group != "" && !groups[vs.Group] {
			// keepalived -t does not report this; the virtual server
			// is simply never set up
			dec.d.add(vs.Stmt.ArgPos(2), sevLint, ErrLint, "virtual server group %s not found", vs.Group)
		}
		dec.virtualServerChecks(vs)
	}
	for _, in := range cfg.Instances {
		dec.familyChecks(in)
	}
	dec.scriptSecurity()
	dec.syncGroupScripts()
}

// syncGroupScripts reports weighted track scripts of instances in a sync
// group: keepalived ignores them (the group moves together).
func (dec *decoder) syncGroupScripts() {
	cfg := dec.cfg
	weights := make(map[string]int, len(cfg.Scripts))
	for _, s := range cfg.Scripts {
		weights[s.Name] = s.Weight
	}
	inGroup := map[string]bool{}
	for _, g := range cfg.SyncGroups {
		for _, n := range g.Group {
			inGroup[n] = true
		}
	}
	for _, in := range cfg.Instances {
		if !inGroup[in.Name] {
			continue
		}
		for _, t := range in.TrackScripts {
			w, ok := weights[t.Name]
			if t.Weight != 0 {
				w = t.Weight
			}
			if ok && w != 0 {
				dec.d.add(t.Stmt.Pos, sevWarning, ErrInvalid, "(%s) ignoring tracked script %s with weights due to SYNC group", in.Name, t.Name)
			}
		}
	}
}

// virtualServerChecks makes the checks keepalived makes when it closes a
// virtual_server block.
func (dec *decoder) virtualServerChecks(vs *VirtualServer) {
	dec.lvsChecks(vs)
	if vs.FWMark != 0 && vs.Protocol != 0 {
		dec.d.add(vs.Stmt.Pos, sevWarning, ErrInvalid, "virtual server FWM %d: protocol specified for fwmark - protocol will be ignored", vs.FWMark)
	}
	// The service's family: its address's, else ip_family's, else (a
	// fwmark service) its first real server's. Tunnelled real servers may
	// be of the other family.
	known, v4 := vs.Addr.IsValid(), vs.Addr.Addr().Is4()
	if !known && vs.IPFamilySet {
		known, v4 = true, !vs.IPv6
	}
	n := 0
	for _, rs := range vs.RealServers {
		// keepalived exempts a real server tunnelled when its block ends:
		// by its own lvs_method, else by the virtual server's lb_kind.
		tunnelled := rs.LVS.Forward == TUN || rs.LVS.Forward == 0 && vs.LBKind == TUN
		if !known && !tunnelled {
			known, v4 = true, rs.Addr.Addr().Is4()
		}
		if known && !tunnelled && rs.Addr.Addr().Is4() != v4 {
			dec.d.errorf(rs.Stmt.Pos, ErrInvalid, "address family of virtual server and real server %s don't match - skipping real server", rs.Addr.Addr())
			continue
		}
		n++
		if (vs.LBKind == DR || vs.LBKind == TUN) && vs.Addr.IsValid() && rs.Addr.Port() != 0 && rs.Addr.Port() != vs.Addr.Port() {
			dec.d.add(rs.Stmt.Pos, sevWarning, ErrInvalid, "virtual server %s and real server %s ports don't match (%s forwarding keeps the port)", vs.Addr, rs.Addr, vs.LBKind)
		}
	}
	if n == 0 && !vs.SorryServer.IsValid() {
		dec.d.errorf(vs.Stmt.Pos, ErrInvalid, "virtual server has no real servers - ignoring")
	}
}

// familyChecks rejects addresses of the other family than the instance's
// (set by unicast_src_ip, the first unicast peer or the first VIP).
func (dec *decoder) familyChecks(in *VRRPInstance) {
	var fam netip.Addr
	switch {
	case in.UnicastSrcIP.IsValid():
		fam = in.UnicastSrcIP
	case len(in.UnicastPeers) > 0:
		fam = in.UnicastPeers[0]
	case len(in.VIPs) > 0:
		fam = in.VIPs[0].Prefix.Addr()
	default:
		return
	}
	for _, v := range in.VIPs {
		if v.Prefix.Addr().Is4() != fam.Is4() {
			dec.d.errorf(v.Stmt.Pos, ErrInvalid, "(%s): address family must match VRRP instance [%s] - ignoring", in.Name, v.Prefix)
		}
	}
	for _, p := range in.UnicastPeers {
		if p.Is4() != fam.Is4() {
			dec.d.errorf(in.Stmt.Pos, ErrInvalid, "(%s): unicast peer %s address family must match VRRP instance", in.Name, p)
		}
	}
}

// runnable reports whether a script command names an existing file, which
// is when keepalived keeps the script (and checks its security). Like
// keepalived's own check, this depends on the machine.
func runnable(cmd string) bool {
	argv, err := ScriptArgv(cmd)
	if err != nil || len(argv) == 0 || !filepath.IsAbs(argv[0]) {
		return false
	}
	st, err := os.Stat(argv[0])
	return err == nil && !st.IsDir()
}

// scriptSecurity reports scripts configured without enable_script_security,
// which keepalived flags as a security violation: a vrrp_script some
// instance tracks (keepalived drops the others), the notify scripts of
// instances and sync groups, and the checker process's scripts (MISC_CHECK,
// notify_up/down, quorum_up/down), each when it names an existing file.
func (dec *decoder) scriptSecurity() {
	cfg := dec.cfg
	if cfg.GlobalDefs != nil && cfg.GlobalDefs.EnableScriptSecurity {
		return
	}
	var at *Stmt
	note := func(s *Stmt, cmds ...string) {
		for _, c := range cmds {
			if at == nil && c != "" && runnable(c) {
				at = s
			}
		}
	}
	tracked := map[string]bool{}
	for _, in := range cfg.Instances {
		for _, t := range in.TrackScripts {
			tracked[t.Name] = true
		}
	}
	for _, s := range cfg.Scripts {
		if tracked[s.Name] {
			note(s.Stmt, s.Script)
		}
	}
	for _, g := range cfg.SyncGroups {
		note(g.Stmt, g.Notify, g.NotifyMaster, g.NotifyBackup, g.NotifyFault)
	}
	for _, in := range cfg.Instances {
		note(in.Stmt, in.Notify, in.NotifyMaster, in.NotifyBackup, in.NotifyFault, in.NotifyStop)
	}
	for _, vs := range cfg.VirtualServers {
		note(vs.Stmt, vs.QuorumUp, vs.QuorumDown)
		for _, rs := range vs.RealServers {
			note(rs.Stmt, rs.NotifyUp, rs.NotifyDown)
			for _, c := range rs.Checkers {
				if m, ok := c.(*MiscCheck); ok {
					note(m.Stmt, m.Path)
				}
			}
		}
	}
	if at != nil {
		dec.d.add(at.Pos, sevWarning, ErrInvalid, "SECURITY VIOLATION - scripts are being executed but script_security not enabled")
	}
}

// groupPos returns the position of the i-th name of a group block.
func groupPos(s *Stmt, i int) Position {
	n := 0
	for _, c := range s.Block.Stmts {
		if !active(c) {
			continue
		}
		for j := range c.Tokens {
			if n == i {
				return c.ArgPos(j)
			}
			n++
		}
	}
	return s.Pos
}
