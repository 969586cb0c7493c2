package keepalivedconf

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
	}
	groups := make(map[string]bool, len(cfg.VirtualServerGroups))
	for _, g := range cfg.VirtualServerGroups {
		groups[g.Name] = true
	}
	for _, vs := range cfg.VirtualServers {
		if vs.Group != "" && !groups[vs.Group] {
			dec.d.errorf(vs.Stmt.ArgPos(2), ErrInvalid, "virtual server group %s not found", vs.Group)
		}
	}
}

// groupPos returns the position of the i-th name of a group block.
func groupPos(s *Stmt, i int) Pos {
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
