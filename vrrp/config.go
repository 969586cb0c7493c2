package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Config describes one virtual router instance, the counterpart of
// keepalived's vrrp_instance block.
type Config struct {
	// Name identifies the instance in logs, metrics and notify scripts.
	Name string
	// Interface is the interface adverts are sent and received on.
	Interface string
	// VRID is the virtual router ID, 1..255.
	VRID uint8
	// Version is 2 or 3; 0 means 2 for IPv4 (keepalived's default) and 3
	// for IPv6.
	Version uint8
	// Priority is 1..255 (0 means keepalived's default 100); 255 is the
	// address owner.
	Priority uint8
	// Interval is the advertisement interval (0 means 1 s). VRRPv2 needs
	// whole seconds; VRRPv3 takes centiseconds.
	Interval time.Duration
	// NoPreempt and PreemptDelay: see Election.
	NoPreempt    bool
	PreemptDelay time.Duration
	// Accept is RFC 9568's Accept_Mode: a master in non-accept mode is
	// expected to drop packets addressed to the virtual addresses it does
	// not own. Without FilterNonAccept lvskit only records it.
	Accept bool
	// FilterNonAccept enforces non-accept mode like keepalived's
	// vrrp_strict: while the instance is master, Accept is false and its
	// priority is not 255, an nftables table of its own
	// ("lvskit_vrrp_<Interface>_<VRID>", family ip or ip6) drops packets
	// addressed to the VIPs, except VRRP and IPv6 neighbour solicitations
	// and advertisements. The table is removed on leaving master and when
	// Run returns.
	FilterNonAccept bool
	// AuthType and AuthPass: VRRPv2 authentication (AuthSimple with up to
	// 8 bytes of password). AuthAH is rejected.
	AuthType AuthType
	AuthPass string
	// VIPs are the virtual addresses, all of one family.
	VIPs []VIP
	// ExcludedVIPs are added and removed with the VIPs but not carried in
	// adverts nor compared with a peer's list (keepalived
	// virtual_ipaddress_excluded); they may be of either family. Without
	// Dev, those of the VIPs' family go where the VIPs go (the vmac with
	// VMAC), the others on Interface.
	ExcludedVIPs []VIP `json:",omitempty"`
	// Routes and Rules are added on becoming master and removed on
	// leaving it.
	Routes []Route
	Rules  []Rule
	// VMAC puts the VIPs on a macvlan interface (private mode) carrying the
	// virtual router MAC (00:00:5e:00:01:VRID for IPv4, 00:00:5e:00:02:VRID
	// for IPv6) and sends adverts and gratuitous ARPs / unsolicited
	// neighbour advertisements from it, so that a takeover needs no
	// neighbour cache update at all (keepalived use_vmac). The router
	// creates the interface and deletes it when Run returns. For IPv4 it
	// sets arp_ignore=1 and arp_announce=2 on it and on Interface; for IPv6
	// it gives it no address of its own but the advert source's link-local
	// address (the interface's first link-local address if Source is not
	// link-local), which adverts leave from.
	VMAC bool
	// VMACName names the interface (default "vrrp.VRID").
	VMACName string
	// VMACXmitBase sends adverts from Interface, with its own MAC, rather
	// than from the vmac (keepalived vmac_xmit_base); the VIPs and
	// gratuitous ARPs stay on the vmac.
	VMACXmitBase bool `json:",omitempty"`
	// Source is the address adverts are sent from and the tie-breaker
	// (keepalived unicast_src_ip). Zero picks the interface's first
	// address of the family (for IPv6 its link-local address).
	Source netip.Addr
	// Peers switches to unicast: adverts go to each peer, and only peers
	// are listened to (keepalived unicast_peer).
	Peers []netip.Addr
	// Group is the multicast group adverts are sent to and heard on
	// (keepalived mcast_dst_ip, vrrp_mcast_group4/6); zero means RFC
	// 9568's, MulticastIPv4 or MulticastIPv6. An IPv6 group must be
	// link-local scoped (ff02::/16).
	Group netip.Addr `json:",omitzero"`
	// Checksum picks the IPv4 VRRPv3 checksum dialect sent; both are
	// accepted.
	Checksum ChecksumMode
	// CheckAddrs drops non-owner adverts whose address list differs from
	// ours (RFC 3768 7.1 says MAY).
	CheckAddrs bool
	// CheckNewMasterAddrs, when CheckAddrs is false, still checks the
	// address list of the adverts a master hears and of those a backup
	// hears from another router than the master it last heard: keepalived
	// skip_check_adv_addr (keepalived's default is CheckAddrs).
	CheckNewMasterAddrs bool `json:",omitempty"`
	// GARP paces gratuitous ARPs / unsolicited neighbour advertisements.
	GARP GARP
	// LowerPrioNoAdvert and HigherPrioSendAdvert change how a master
	// answers adverts from other masters (keepalived's
	// vrrp_lower_prio_no_advert and vrrp_higher_prio_send_advert): see
	// Election.
	LowerPrioNoAdvert, HigherPrioSendAdvert bool
	// DownTimerAdverts is how many advert intervals a backup waits for
	// the master (Election.DownTimerAdverts; zero is 3; keepalived
	// down_timer_adverts).
	DownTimerAdverts int `json:",omitempty"`
	// Notify holds keepalived-style notify scripts.
	Notify Notify
	// DontTrackPrimary stops the instance from going to FAULT while its
	// own Interface (and its VMAC) is down; by default it does, as
	// keepalived does unless dont_track_primary is set.
	DontTrackPrimary bool `json:",omitempty"`
	// TrackSource puts the instance in FAULT while the configured Source
	// is not an address of Interface (keepalived track_src_ip). A source
	// the instance picked itself (Source zero) is always followed so: the
	// instance is in FAULT while Interface does not have it.
	TrackSource bool `json:",omitempty"`
	// Track lists what lowers priority or faults the instance.
	TrackInterfaces []TrackInterface
	TrackScripts    []TrackScript
	TrackFiles      []TrackFile
	TrackExternal   []TrackExternal `json:",omitempty"`
	TrackProcesses  []TrackProcess  `json:",omitempty"`
	// OnTransition, when set, is called after every state change and
	// after the addresses have moved, in order, from a goroutine of the
	// instance's own: a slow callback delays only this instance's
	// actions, never its adverts or other instances.
	OnTransition func(name string, t Transition) `json:"-"`
	// OnNotified, when set, is called once the notify scripts of a
	// transition have run (at once when there are none), in order, from
	// the instance's own goroutine. keepalived starts a sync group's
	// scripts after its members': a caller running group scripts starts
	// them from here.
	OnNotified func(name string, t Transition) `json:"-"`
	// OnPriority, when set, is called when tracking changes the effective
	// priority (not for the owner, whose priority stays 255), with the
	// state the instance is in, in order with OnTransition and from the
	// same goroutine (keepalived's notify_priority_changes FIFO lines).
	OnPriority func(name string, state State, prio uint8) `json:"-"`
}

// Route is a virtual route, present only while master (keepalived
// virtual_routes).
type Route struct {
	// Dst is the destination prefix.
	Dst netip.Prefix
	// Gw is the gateway (optional).
	Gw netip.Addr
	// Dev is the output interface (default: the instance's).
	Dev string
	// Table is the routing table (0 = main).
	Table int
	// Metric is the route priority.
	Metric int
	// Src is the preferred source address (optional).
	Src netip.Addr `json:",omitzero"`
	// Scope is the route scope (0 = universe).
	Scope uint8 `json:",omitempty"`
	// Protocol is the route's protocol number (0: the kernel's default;
	// keepalived uses 18).
	Protocol uint8 `json:",omitempty"`
	// Type is the route type, a kernel RTN_* number (0: unicast);
	// blackhole (6), unreachable (7), prohibit (8) and throw (9) need
	// no interface.
	Type uint8 `json:",omitempty"`
	// NoTrack (keepalived no_track) leaves a deleted route alone: without
	// it, someone deleting the route makes its master instance leave
	// MASTER, and a Static route is restored (see Router and KeepStatic).
	NoTrack bool `json:",omitempty"`
}

// Rule is a virtual policy routing rule, present only while master
// (keepalived virtual_rules).
type Rule struct {
	// From and To select packets by source and destination (either may be
	// zero).
	From, To netip.Prefix
	// Table is the table to look up.
	Table int
	// Priority orders the rule (0 lets the kernel choose).
	Priority int
	// Protocol is the rule's protocol number (0: the kernel's default;
	// keepalived uses 18).
	Protocol uint8 `json:",omitempty"`
	// IPv6 makes a rule with neither From nor To an IPv6 rule (else it
	// takes the instance's family, IPv4 in a Static).
	IPv6 bool `json:",omitempty"`
	// NoTrack (keepalived no_track) leaves a deleted rule alone, as
	// Route.NoTrack does.
	NoTrack bool `json:",omitempty"`
}

// VIP is a virtual address (keepalived virtual_ipaddress entry).
type VIP struct {
	// Prefix is the address and prefix length (/32 or /128 is usual).
	Prefix netip.Prefix
	// Dev is the interface to add it to (default: the instance's).
	Dev string
	// Label is an IPv4 address label such as "eth0:1".
	Label string
	// Scope is the address scope (0 = global).
	Scope int
	// Broadcast is the IPv4 broadcast address, if any.
	Broadcast netip.Addr
	// NoTrack (keepalived no_track) leaves a deleted address alone:
	// without it, someone deleting a VIP from a master makes the instance
	// leave MASTER (it takes MASTER back after its skew time if no other
	// router advertises, adding its addresses again), and a Static
	// address is restored at once.
	NoTrack bool `json:",omitempty"`
}

// GARP sets keepalived's gratuitous ARP / NA pacing. Zero values take
// keepalived's defaults where noted.
type GARP struct {
	// Repeat is how many are sent per burst (default 5).
	Repeat int
	// Interval spaces the messages in a burst (default 0: back to back).
	// As in keepalived (vrrp_garp_interval), an address has at most one
	// message waiting for the interval: with an Interval a burst is at
	// most two rounds. Each round announces every VIP back to back
	// (keepalived spaces every message on the interface).
	Interval time.Duration
	// Delay is when the second burst follows the first (default 5 s;
	// negative disables it).
	Delay time.Duration
	// Refresh, when positive, repeats a burst of RefreshRepeat (default 1)
	// messages this often while master.
	Refresh       time.Duration
	RefreshRepeat int
	// LowerPrioRepeat is the burst a master sends when it hears a
	// lower-priority advert (another router that thinks it is master),
	// and LowerPrioDelay when a second such burst follows: keepalived's
	// garp_lower_prio_repeat and garp_lower_prio_delay. Zero takes
	// Repeat and Delay, as keepalived does; negative sends none.
	LowerPrioRepeat int
	LowerPrioDelay  time.Duration
	// Disabled turns gratuitous ARP / NA off.
	Disabled bool
	// ExtraInterval, when positive, re-announces while master, this
	// often, the first VIP (or else excluded VIP) on each interface of
	// ExtraDevs, one message per interface: keepalived's garp_extra_if /
	// vrrp_garp_extra_if, for VIPs whose Dev is another interface than
	// the one the instance advertises on (announce_extra.go).
	ExtraInterval time.Duration `json:",omitempty"`
	ExtraDevs     []string      `json:",omitempty"`
}

// Notify holds keepalived-compatible notify scripts. Each is an argv run
// without a shell. Notify gets "INSTANCE", name, state and priority
// appended, like keepalived's notify.
//
// Each script runs in a process group of its own; on Timeout the whole
// group is killed. Processes a script leaves running in the background when
// it exits are left alone (a notify script may start a daemon), as in
// keepalived. Output beyond 4 KiB is dropped.
type Notify struct {
	Master, Backup, Fault, Stop []string
	Notify                      []string
	// Timeout bounds each script run (default 10 s).
	Timeout time.Duration
	// User and Group, when set, run the scripts as that user (name or
	// uid) and group (name or gid; empty: the user's primary group), as
	// keepalived's script_user does. Needs root.
	User, Group string
}

// TrackInterface follows the named interface with keepalived's weight
// semantics: Weight 0 faults the instance while the interface is down;
// Weight > 0 is added to the priority while it is up, Weight < 0 while it
// is down. Reverse turns it round (keepalived "weight N reverse"): Weight
// 0 faults while the interface is up, and -Weight applies in the other
// state (a positive Weight is taken away while up, a negative one given
// while down).
type TrackInterface struct {
	Name    string
	Weight  int
	Reverse bool `json:",omitempty"`
}

// TrackScript runs Command every Interval; Rise successes in a row make it
// up, Fall failures down. Weight > 0 is added while up, Weight < 0 while
// down, and Weight 0 faults the instance while down.
//
// Command runs without a shell in a process group of its own. A run that
// outlasts Timeout fails, and its whole group (the script and everything
// it started) is killed; so is whatever the script leaves behind when it
// exits.
type TrackScript struct {
	Name     string
	Command  []string
	Interval time.Duration
	Timeout  time.Duration
	Rise     int
	Fall     int
	Weight   int
	// Reverse turns the weight round as TrackInterface's (keepalived
	// "weight N reverse"): Weight 0 faults while the script succeeds.
	Reverse bool `json:",omitempty"`
	// User and Group, when set, run Command as that user (name or uid)
	// and group (name or gid; empty: the user's primary group):
	// keepalived's vrrp_script `user` or the global script_user.
	User, Group string
}

// TrackFile reads an integer from Path every Interval (default 1 s).
// With Weight 0 a non-zero value faults the instance; otherwise value ×
// Weight is added to the priority (keepalived track_file).
type TrackFile struct {
	Path     string
	Interval time.Duration
	Weight   int
}

// normalize fills defaults and checks the configuration, reporting every
// problem it finds (joined), each naming the instance and the field.
func (c *Config) normalize() error {
	if c.Name == "" {
		c.Name = fmt.Sprintf("VI_%d", c.VRID)
	}
	// Defaults go into copies: the caller's slices stay as they were.
	c.TrackScripts = slices.Clone(c.TrackScripts)
	c.TrackFiles = slices.Clone(c.TrackFiles)
	var errs []error
	bad := func(field, f string, a ...any) {
		errs = append(errs, &ConfigError{Instance: c.Name, Field: field, Msg: fmt.Sprintf(f, a...)})
	}
	if c.VRID == 0 {
		bad("VRID", "must be 1..255")
	}
	if c.Interface == "" {
		bad("Interface", "required")
	}
	ipv6 := false
	if len(c.VIPs) == 0 {
		bad("VIPs", "at least one virtual address is required")
	} else {
		ipv6 = c.VIPs[0].Prefix.Addr().Is6()
	}
	for i, v := range c.VIPs {
		if !v.Prefix.IsValid() || v.Prefix.Addr().Is6() != ipv6 {
			bad(fmt.Sprintf("VIPs[%d]", i), "%v: invalid or mixed family", v.Prefix)
		}
	}
	if c.Version == 0 {
		c.Version = 2
		if ipv6 {
			c.Version = 3
		}
	}
	switch {
	case c.Version != 2 && c.Version != 3:
		bad("Version", "%d", c.Version)
	case c.Version == 2 && ipv6:
		bad("Version", "VRRPv2 is IPv4 only")
	}
	if c.Priority == 0 {
		c.Priority = 100
	}
	if c.Interval == 0 {
		c.Interval = time.Second
	}
	switch {
	case c.Interval < 0:
		bad("Interval", "%v: negative", c.Interval)
	case c.Version == 2 && (c.Interval%time.Second != 0 || c.Interval > 255*time.Second):
		bad("Interval", "%v: VRRPv2 needs whole seconds 1..255", c.Interval)
	case c.Version == 3 && (c.Interval%(10*time.Millisecond) != 0 || c.Interval > 40950*time.Millisecond):
		bad("Interval", "%v: VRRPv3 needs centiseconds up to 40.95 s", c.Interval)
	}
	if c.PreemptDelay < 0 {
		bad("PreemptDelay", "%v: negative", c.PreemptDelay)
	}
	if c.DownTimerAdverts < 0 || c.DownTimerAdverts > maxDownTimerAdverts {
		bad("DownTimerAdverts", "%d: must be 1..%d (0 for 3)", c.DownTimerAdverts, maxDownTimerAdverts)
	}
	switch c.AuthType {
	case AuthNone:
	case AuthSimple:
		if c.Version != 2 {
			bad("AuthType", "authentication is VRRPv2 only")
		}
		if len(c.AuthPass) > 8 {
			bad("AuthPass", "longer than 8 bytes")
		}
	case AuthAH:
		errs = append(errs, fmt.Errorf("vrrp: instance %s: AuthType: %w", c.Name, ErrAuthAH))
	default:
		bad("AuthType", "%d", c.AuthType)
	}
	for i, r := range c.Routes {
		if !r.Dst.IsValid() || (r.Gw.IsValid() && r.Gw.Is6() != r.Dst.Addr().Is6()) {
			bad(fmt.Sprintf("Routes[%d]", i), "destination %v, gateway %v", r.Dst, r.Gw)
		}
	}
	for i, r := range c.Rules {
		if r.Table <= 0 || (r.From.IsValid() && r.To.IsValid() && r.From.Addr().Is6() != r.To.Addr().Is6()) {
			bad(fmt.Sprintf("Rules[%d]", i), "needs a table, and From and To of one family")
		}
	}
	if c.VMAC {
		if c.VMACName == "" {
			c.VMACName = fmt.Sprintf("vrrp.%d", c.VRID)
		}
	}
	c.normalizeNet(ipv6, bad)
	if c.Source.IsValid() && c.Source.Is6() != ipv6 {
		bad("Source", "%v: family differs from the VIPs", c.Source)
	}
	for i, p := range c.Peers {
		if p.Is6() != ipv6 {
			bad(fmt.Sprintf("Peers[%d]", i), "%v: family differs from the VIPs", p)
		}
	}
	if c.GARP.Repeat == 0 {
		c.GARP.Repeat = 5
	}
	if c.GARP.Delay == 0 {
		c.GARP.Delay = 5 * time.Second
	}
	if c.GARP.RefreshRepeat == 0 {
		c.GARP.RefreshRepeat = 1
	}
	if c.GARP.LowerPrioRepeat == 0 {
		c.GARP.LowerPrioRepeat = c.GARP.Repeat
	}
	if c.GARP.LowerPrioDelay == 0 {
		c.GARP.LowerPrioDelay = c.GARP.Delay
	}
	if c.GARP.Repeat < 0 || c.GARP.RefreshRepeat < 0 || c.GARP.Interval < 0 || c.GARP.Refresh < 0 {
		bad("GARP", "negative repeat, interval or refresh")
	}
	if c.Notify.Timeout == 0 {
		c.Notify.Timeout = 10 * time.Second
	}
	if c.Notify.Timeout < 0 {
		bad("Notify.Timeout", "%v: negative", c.Notify.Timeout)
	}
	for i := range c.TrackScripts {
		s := &c.TrackScripts[i]
		if len(s.Command) == 0 || s.Command[0] == "" {
			bad(fmt.Sprintf("TrackScripts[%d]", i), "empty command")
		}
		if s.Interval <= 0 {
			s.Interval = time.Second
		}
		if s.Timeout <= 0 {
			s.Timeout = s.Interval
		}
		s.Rise, s.Fall = max(s.Rise, 1), max(s.Fall, 1)
	}
	for i := range c.TrackFiles {
		if c.TrackFiles[i].Interval <= 0 {
			c.TrackFiles[i].Interval = time.Second
		}
	}
	return errors.Join(errs...)
}

// conflict reports why b cannot join a Router that has a: the same VRID
// on the same interface and family. Both are normalized.
func conflict(a, b *Config) error {
	if len(a.VIPs) == 0 || len(b.VIPs) == 0 {
		return nil
	}
	if a.Interface == b.Interface && a.VRID == b.VRID && a.ipv6() == b.ipv6() {
		return &ConfigError{Instance: b.Name, Field: "VRID", Msg: fmt.Sprintf("%d on %s already used by %s", b.VRID, b.Interface, a.Name)}
	}
	return nil
}

// Validate reports every reason Router.Add would refuse cfgs, added in this
// order to one Router: each Config's own problems (fields out of range,
// mixed families, script users that do not exist) and VRIDs used twice on
// one interface and family. The errors are joined; each names the
// instance and the field (a *ConfigError, which matches ErrInvalid, or an
// error wrapping ErrAuthAH or a user lookup's error). Validate changes nothing and needs no privileges; what only the
// running host can tell (interfaces, addresses) is checked by Run.
func Validate(cfgs ...Config) error {
	var errs []error
	have := make([]*Config, 0, len(cfgs))
	for _, c := range cfgs {
		if _, err := admit(&c, have); err != nil {
			errs = append(errs, err)
		}
		have = append(have, &c)
	}
	return errors.Join(errs...)
}

// admit normalizes cfg for a Router that has the instances configured by
// have and resolves its script users. The error joins every reason to
// refuse it.
func admit(cfg *Config, have []*Config) (scriptCreds, error) {
	var errs []error
	if err := cfg.normalize(); err != nil {
		errs = append(errs, err)
	}
	for _, o := range have {
		if err := conflict(o, cfg); err != nil {
			errs = append(errs, err)
		}
	}
	creds, err := cfg.resolveScripts()
	if err != nil {
		errs = append(errs, err)
	}
	return creds, errors.Join(errs...)
}

func (c *Config) ipv6() bool { return c.VIPs[0].Prefix.Addr().Is6() }

func (c *Config) authPass() (p [8]byte) {
	copy(p[:], c.AuthPass)
	return p
}
