package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/internal/proc"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/keepalivedconf"
	"github.com/lvskit/lvskit/vrrp"
)

// errNoInterface is keepalived's verdict on a configuration that names an
// interface the host does not have (without dynamic_interfaces): -t fails, start fails, and a reload is
// refused. The text is keepalived's, capital letter included, so that
// log alerts written for keepalived match.
//
//lint:ignore ST1005 keepalived's message, kept verbatim
var errNoInterface = errors.New("Non-existent interface specified in configuration")

// ifaceRef is an interface named by a VRRP instance.
type ifaceRef struct {
	Instance, Interface string
}

// checkPlan is everything a plan must pass before the router runs it, the
// same for -t, start and reload: the interfaces it names exist on this host
// (keepalived's "Non-existent interface specified in configuration"), and
// every package accepts its part (vrrp.Validate the instances, a vrrp
// Router the sync groups, ipvs the services and destinations, check the
// targets). It touches nothing.
//
// hasInterface tells whether the host has an interface (interfaceExists, or
// anyInterface to check a plan for any host).
func checkPlan(p *Plan, hasInterface func(string) bool) error {
	instIf := hasInterface
	if p.DynamicInterfaces { // instances wait for their interfaces (plan_kw2.go)
		instIf = func(string) bool { return true }
	}
	errs := []error{checkInterfaces(p, instIf), checkStatic(p, hasInterface), checkGARPGroups(p, hasInterface)}
	if _, err := p.Scripts.credential(); err != nil {
		errs = append(errs, err)
	}
	// vrrp.Validate sees every instance at once (a VRID used twice on an
	// interface across units too); building each unit adds what only a
	// Router checks (sync groups).
	var verrs []error
	for _, c := range p.Instances {
		if err := vrrp.Validate(c); err != nil {
			verrs = append(verrs, p.at(vrrpUnit{Instances: []vrrp.Config{c}}, fmt.Errorf("vrrp_instance %s: %w", c.Name, err)))
		}
	}
	if len(verrs) == 0 {
		if err := vrrp.Validate(p.Instances...); err != nil {
			verrs = append(verrs, err)
		}
	}
	if len(verrs) == 0 {
		for _, u := range units(p) {
			if _, err := buildUnit(u, nil, nil); err != nil {
				verrs = append(verrs, p.at(u, err))
			}
		}
	}
	errs = append(errs, verrs...)
	// A check ID is its service's description, " -> " (which no
	// description holds), its real server and its index: with every
	// description distinct, two IDs can be equal only within a service,
	// and each service's are compared among themselves instead of
	// hashing all 40,000 of a 10,000 × 4 plan into one map.
	var ids map[string]bool
	if !distinctDescriptions(p.Services) {
		_, n := countChecks(p)
		ids = make(map[string]bool, n)
	}
	var own serviceIDs
	for i := range p.Services {
		vs := &p.Services[i]
		own.reset()
		if err := vs.Service.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", vs.Description(), err))
		}
		if vs.Sorry != nil {
			if err := vs.Sorry.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s: sorry_server: %w", vs.Description(), err))
			}
		}
		for _, rs := range vs.Reals {
			if err := rs.Dest.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", vs.Description(), err))
			}
			for _, t := range rs.Checks {
				var err error
				if ids != nil {
					err = checkTarget(t, ids)
				} else {
					err = checkTargetIn(t, &own)
				}
				if err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// checkTarget refuses what check.Monitor's Add would refuse.
func checkTarget(t check.Target, ids map[string]bool) error {
	if t.Checker == nil {
		return fmt.Errorf("check %q: no checker", t.ID)
	}
	// one hash per target: a duplicate leaves the map's size as it was
	n := len(ids)
	ids[t.ID] = true
	if len(ids) == n {
		return fmt.Errorf("check %q: %w", t.ID, check.ErrExists)
	}
	return nil
}

// serviceIDs are the check IDs of one service so far: a list while it
// is short, a set once it is long.
type serviceIDs struct {
	list []string
	set  map[string]struct{}
}

// reset empties s for the next service.
func (s *serviceIDs) reset() { s.list, s.set = s.list[:0], nil }

// checkTargetIn is checkTarget against the IDs of t's own service so
// far, to which it adds t's.
func checkTargetIn(t check.Target, own *serviceIDs) error {
	if t.Checker == nil {
		return fmt.Errorf("check %q: no checker", t.ID)
	}
	if own.set == nil && len(own.list) < 32 {
		if slices.Contains(own.list, t.ID) {
			return fmt.Errorf("check %q: %w", t.ID, check.ErrExists)
		}
		own.list = append(own.list, t.ID)
		return nil
	}
	if own.set == nil {
		own.set = make(map[string]struct{}, 2*len(own.list))
		for _, id := range own.list {
			own.set[id] = struct{}{}
		}
	}
	if _, dup := own.set[t.ID]; dup {
		return fmt.Errorf("check %q: %w", t.ID, check.ErrExists)
	}
	own.set[t.ID] = struct{}{}
	return nil
}

// distinctDescriptions reports whether no two services share a
// description: a firewall mark, or a protocol and an address, as
// describe writes them, compared in 24 bytes without making the strings.
// An address with a zone, which the key does not hold, says no (the
// caller then compares every ID).
func distinctDescriptions(svcs []VirtualService) bool {
	type described struct {
		addr  [16]byte
		mark  uint32
		port  uint16
		proto ipvs.Protocol
		is4   bool
	}
	seen := make(map[described]struct{}, len(svcs))
	for i := range svcs {
		s := &svcs[i].Service
		d := described{mark: s.FWMark}
		if s.FWMark == 0 {
			a := s.Addr.Addr()
			if a.Zone() != "" {
				return false
			}
			d.addr, d.is4, d.port, d.proto = a.As16(), a.Is4(), s.Addr.Port(), s.Protocol
		}
		if _, dup := seen[d]; dup {
			return false
		}
		seen[d] = struct{}{}
	}
	return true
}

// checkInterfaces reports every interface a VRRP instance names (its
// interface, its addresses' and routes' dev, its track_interface) that
// exists reports missing, each with its place, followed by
// errNoInterface.
func checkInterfaces(p *Plan, exists func(string) bool) error {
	var errs, loop []error
	seen := map[ifaceRef]bool{}
	for _, c := range p.Instances {
		// keepalived ignores, and reports, an instance on a loopback
		// interface: VRRP cannot run there.
		if exists(c.Interface) && isLoopback(c.Interface) {
			msg := fmt.Sprintf("(%s) cannot use a loopback interface (%s) for vrrp - ignoring", c.Name, c.Interface)
			if pos, ok := p.ifacePos[ifaceRef{c.Name, c.Interface}]; ok {
				msg = pos.String() + ": " + msg
			}
			loop = append(loop, errors.New(msg))
		}
		names := []string{c.Interface}
		for _, v := range append(slices.Clip(c.VIPs), c.ExcludedVIPs...) {
			names = append(names, v.Dev)
		}
		for _, r := range c.Routes {
			names = append(names, r.Dev)
		}
		for _, t := range c.TrackInterfaces {
			names = append(names, t.Name)
		}
		for _, n := range names {
			ref := ifaceRef{c.Name, n}
			if n == "" || seen[ref] || exists(n) {
				continue
			}
			seen[ref] = true
			msg := fmt.Sprintf("interface %s for vrrp_instance %s doesn't exist", n, c.Name)
			if pos, ok := p.ifacePos[ref]; ok {
				msg = pos.String() + ": " + msg
			}
			errs = append(errs, errors.New(msg))
		}
	}
	if len(errs) > 0 {
		errs = append(errs, errNoInterface)
	}
	return errors.Join(append(loop, errs...)...)
}

// interfaceExists reports whether the host (the network namespace lvsrouter
// runs in) has an interface of that name.
func interfaceExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

// isLoopback reports whether this host's interface of that name is a
// loopback.
func isLoopback(name string) bool {
	ifi, err := net.InterfaceByName(name)
	return err == nil && ifi.Flags&net.FlagLoopback != 0
}

// anyInterface accepts every interface name: the plan is checked for any
// host (lvsrouter -json, tests).
func anyInterface(string) bool { return true }

// buildUnit builds the vrrp.Router of a unit without running it: vrrp's
// own checks of every instance and sync group. onTransition, if set, is
// installed in every instance, onPriority in those of u.NotifyPriority.
func buildUnit(u vrrpUnit, onTransition func(string, vrrp.Transition), onPriority func(string, vrrp.State, uint8)) (*vrrp.Router, error) {
	vr, err := vrrp.NewRouter(&vrrp.RouterConfig{ScriptSecurity: u.ScriptSecurity, StartupDelay: max(u.StartupDelay, 0)})
	if err != nil {
		return nil, err
	}
	byName := map[string]*vrrp.Instance{}
	for _, c := range u.Instances {
		c.OnTransition = onTransition
		if onPriority != nil && slices.Contains(u.NotifyPriority, c.Name) {
			c.OnPriority = onPriority
		}
		in, err := vr.Add(c)
		if err != nil {
			return nil, fmt.Errorf("vrrp_instance %s: %w", c.Name, err)
		}
		byName[c.Name] = in
	}
	if g := u.Group; g != nil {
		var members []*vrrp.Instance
		for _, m := range g.Members {
			in, ok := byName[m]
			if !ok {
				return nil, fmt.Errorf("vrrp_sync_group %s: unknown instance %q", g.Name, m)
			}
			members = append(members, in)
		}
		if err := vr.SyncGroup(g.Name, members...); err != nil {
			return nil, fmt.Errorf("vrrp_sync_group %s: %w", g.Name, err)
		}
	}
	return vr, nil
}

// at prefixes an error about a VRRP unit with the place of its first
// instance (or its sync group), when the plan knows it.
func (p *Plan) at(u vrrpUnit, err error) error {
	name := ""
	if len(u.Instances) > 0 {
		name = u.Instances[0].Name
	}
	if pos, ok := p.instancePos[name]; ok {
		return fmt.Errorf("%s: %w", pos, err)
	}
	return err
}

// notePositions records, for checkPlan's messages, where each instance and
// each interface it names are written.
func (p *Plan) notePositions(in *keepalivedconf.VRRPInstance) {
	if in.Stmt == nil {
		return
	}
	if p.instancePos == nil {
		p.instancePos = map[string]keepalivedconf.Position{}
		p.ifacePos = map[ifaceRef]keepalivedconf.Position{}
	}
	p.instancePos[in.Name] = in.Stmt.Pos
	note := func(name string, pos keepalivedconf.Position) {
		ref := ifaceRef{in.Name, name}
		if _, ok := p.ifacePos[ref]; !ok && name != "" {
			p.ifacePos[ref] = pos
		}
	}
	if in.Stmt.Block != nil {
		for _, s := range in.Stmt.Block.Stmts {
			if s.Keyword() == "interface" && len(s.Tokens) > 1 {
				note(s.Arg(1), s.ArgPos(1))
			}
		}
	}
	for _, v := range in.VIPs {
		if v.Stmt != nil {
			note(v.Dev, v.Stmt.Pos)
		}
	}
	for _, t := range in.TrackInterfaces {
		if t.Stmt != nil {
			note(t.Name, t.Stmt.Pos)
		}
	}
	note(in.Interface, in.Stmt.Pos)
}

// credential resolves script_user, for the scripts the router runs itself
// (notify_up/down, quorum_up/down); nil runs them as lvsrouter.
func (sp ScriptPolicy) credential() (*proc.Credential, error) {
	if sp.User == "" && sp.Group == "" {
		return nil, nil
	}
	u := sp.User
	if u == "" {
		u = "root"
	}
	c, err := proc.LookupCredential(u, sp.Group)
	if err != nil {
		return nil, fmt.Errorf("script_user: %w", err)
	}
	return c, nil
}

// instanceFidelity applies to a translated instance what keepalived 2.2.7
// reports about it while reading (each report fails -t, and keepalived
// runs with the value it names), so that lvsrouter -t rejects what
// keepalived -t rejects and runs what keepalived runs.
func instanceFidelity(p *Plan, in *keepalivedconf.VRRPInstance, c *vrrp.Config, strict bool) {
	warn := func(format string, args ...any) {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s: ", in.Stmt.Pos)+fmt.Sprintf(format, args...))
	}
	if c.AuthType == vrrp.AuthSimple && c.AuthPass == "" {
		warn("(%s) Authentication specified but no password given. Ignoring", in.Name)
		c.AuthType = 0
	}
	if strict && in.State == keepalivedconf.StateMaster && c.Priority != 255 {
		warn("(%s) State MASTER must match being address owner", in.Name)
	}
	if c.VMACName != "" && !validIfName(c.VMACName) {
		warn("VMAC interface name '%s' too long or invalid characters - ignoring", c.VMACName)
		c.VMACName = ""
	}
	// unicast_src_ip is a unicast keyword; mcast_src_ip, which sets the
	// same source, is not.
	if in.UnicastSrcIP.IsValid() && len(c.Peers) == 0 {
		warn("(%s) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration.", in.Name)
	}
	kept := c.TrackInterfaces[:0]
	for _, t := range c.TrackInterfaces {
		if t.Name == c.Interface {
			warn("(%s) Ignoring track_interface %s since own interface", in.Name, t.Name)
			continue
		}
		kept = append(kept, t)
	}
	c.TrackInterfaces = kept
}

// validIfName is the kernel's rule for an interface name (dev_valid_name).
func validIfName(n string) bool {
	if n == "" || len(n) >= 16 || n == "." || n == ".." {
		return false
	}
	return !strings.ContainsAny(n, "/: \t\n")
}

// serviceFidelity applies keepalived's checks of a virtual server's
// quorum (check_data.c): a quorum above the real servers' total weight is
// reduced to it, a hysteresis not below the quorum to quorum-1, each
// reported.
func serviceFidelity(p *Plan, vs *keepalivedconf.VirtualServer, v *VirtualService) {
	total := 0
	for _, r := range v.Reals {
		total += r.Dest.Weight
	}
	if len(v.Reals) > 0 && v.Quorum > total {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s: Warning - quorum %d for %s exceeds total weight of real servers %d, reducing quorum to %d", vs.Stmt.Pos, v.Quorum, v.Description(), total, total))
		v.Quorum = total
	}
	if v.Hysteresis > 0 && v.Hysteresis >= v.Quorum {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s: Virtual server %s: hysteresis %d >= quorum %d; setting hysteresis to %d", vs.Stmt.Pos, v.Description(), v.Hysteresis, v.Quorum, v.Quorum-1))
		v.Hysteresis = max(v.Quorum-1, 0)
	}
}

// acceptMode sets the instance's accept mode as keepalived 2.2.7 does
// (vrrp.c): accept or no_accept when written (the last one wins), else
// accept for the address owner or without vrrp_strict; accept under
// vrrp_strict with VRRPv2 is reset, and reported. A master not in accept
// mode drops traffic to its addresses (vrrp's FilterNonAccept).
func acceptMode(p *Plan, in *keepalivedconf.VRRPInstance, c *vrrp.Config, strict bool) {
	accept, set := false, false
	if in.Stmt != nil && in.Stmt.Block != nil {
		for _, s := range in.Stmt.Block.Stmts {
			if !activeStmt(s) {
				continue
			}
			switch s.Keyword() {
			case "accept":
				accept, set = true, true
			case "no_accept":
				accept, set = false, true
			}
		}
	}
	owner := c.Priority == 255
	if !set {
		accept = owner || !strict
	}
	v := c.Version
	if v == 0 && len(c.VIPs) > 0 && !c.VIPs[0].Prefix.Addr().Is6() {
		v = 2
	}
	if accept && !owner && strict && v == 2 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s: (%s) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting", in.Stmt.Pos, in.Name))
		accept = false
	}
	// FilterNonAccept stays on under vrrp_strict (the data dumps report
	// it as strict_mode); vrrp filters only while Accept is off.
	c.Accept = accept
	c.FilterNonAccept = strict || !accept
}

// groupPorts reports, as keepalived does (check_data.c), a real server
// whose port differs from a group entry's when the forwarding keeps the
// port (DR, TUN): such a real server never gets the entry's traffic.
func groupPorts(p *Plan, vs *keepalivedconf.VirtualServer, g *keepalivedconf.VirtualServerGroup, fwd ipvs.ForwardMethod) {
	if fwd == ipvs.Masquerade {
		return
	}
	for _, m := range g.Members {
		if m.FWMark != 0 || m.Port == 0 {
			continue
		}
		for _, rs := range vs.RealServers {
			if rs.Addr.Port() != 0 && rs.Addr.Port() != m.Port {
				entry := netip.AddrPortFrom(m.Addr, m.Port).String()
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s: virtual server group %s:[%s] and real server %s ports don't match", rs.Stmt.Pos, g.Name, entry, rs.Addr))
			}
		}
	}
}
