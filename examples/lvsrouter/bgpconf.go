package main

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/keepalivedconf"
)

// BGPConfig is the file given with --bgp: how lvsrouter announces its
// virtual addresses with BGP to the upstream router(s) when several
// directors are active behind ECMP. keepalived.conf stays as keepalived
// reads it; this file is lvsrouter's own, in keepalived's syntax (words,
// { } blocks, # and ! comments), read with keepalivedconf's syntax layer:
//
//	local_as 65001
//	router_id 10.0.0.11
//	listen_port 0            # default: do not listen, only connect out
//	neighbor 10.0.0.1 {
//	    remote_as 65000
//	    hold_time 9           # seconds, 0 or >= 3 (default 90)
//	    keepalive_interval 3  # seconds (default hold_time/3)
//	    connect_retry 5       # seconds (default 5)
//	    port 179
//	    local_address 10.0.0.11
//	    password secret       # TCP-MD5 (RFC 2385)
//	    bfd {                 # a BFD session with the neighbour (RFC 5880/5881)
//	        min_rx 300        # ms (default 300), as in keepalived's bfd_instance
//	        min_tx 300        # ms (default 300)
//	        multiplier 3      # (default 3)
//	        passive           # wait for the neighbour's first packet
//	        multihop          # RFC 5883 (UDP 4784) instead of single hop
//	    }                     # a bare "bfd" takes every default
//	}
//	announce all             # or: announce 192.0.2.10 2001:db8::10 ...
//	announce_when all        # or any: which of a VIP's services need quorum
//	community 65000:100 no-export
//	med 10
//	next_hop self
//	drain_time 2             # seconds kept serving after the withdraw went out
//	withdraw_timeout 5       # bound on waiting for the withdraw to go out
//	vip_interface lo         # add each announced VIP as /32 or /128 here
//	sloppy_tcp               # net.ipv4.vs.sloppy_tcp = 1
//	sloppy_sctp              # net.ipv4.vs.sloppy_sctp = 1
//
// Every keyword has an effect; anything else is refused with its
// file:line:col.
type BGPConfig struct {
	// LocalAS is the director's AS number (local_as, required).
	LocalAS uint32
	// RouterID is the BGP identifier (router_id, required, IPv4).
	RouterID netip.Addr
	// ListenPort is the TCP port the speaker accepts sessions on; 0 (the
	// default) does not listen: the speaker connects to its neighbours.
	ListenPort uint16
	// Neighbors are the upstream routers.
	Neighbors []BGPNeighbor
	// AnnounceAll announces every virtual server address of the
	// configuration (announce all, the default when no announce is given).
	AnnounceAll bool
	// Announce lists the addresses to announce (announce ADDR...): each
	// must be a virtual server address of the configuration.
	Announce []netip.Addr
	// AnnounceAny announces a VIP while any of its virtual services has
	// quorum (announce_when any); by default every one of them must.
	AnnounceAny bool
	// Communities are attached to every announcement (community).
	Communities []uint32
	// MED is the multi-exit discriminator sent when HasMED (med).
	MED    uint32
	HasMED bool
	// DrainTime is how long a director keeps serving after its withdraw
	// went out to every neighbour, before a stop removes IPVS state, so
	// that the upstream router has moved the flows (drain_time, default
	// 2 s).
	DrainTime time.Duration
	// WithdrawTimeout bounds the wait for the withdraw to go out
	// (withdraw_timeout, default 5 s).
	WithdrawTimeout time.Duration
	// VIPInterface, when set, is the interface (lo, or a dummy) that
	// holds every VIP lvsrouter may announce, as a /32 or /128, while
	// the router runs (vip_interface).
	VIPInterface string
	// SloppyTCP and SloppySCTP set net.ipv4.vs.sloppy_tcp and
	// sloppy_sctp to 1, so that a director picks up a flow in mid-stream
	// (sloppy_tcp, sloppy_sctp).
	SloppyTCP, SloppySCTP bool

	// announcePos is where each announce address is written, for the
	// check against the plan.
	announcePos map[netip.Addr]keepalivedconf.Position
	// bfdPos is where each neighbour's bfd is written.
	bfdPos map[netip.Addr]keepalivedconf.Position
}

// BGPNeighbor is one upstream router.
type BGPNeighbor struct {
	Address  netip.Addr
	RemoteAS uint32
	// Port is the neighbour's TCP port (default 179).
	Port uint16
	// LocalAddress is the source address of the session (default: the
	// kernel's choice).
	LocalAddress netip.Addr
	// HoldTime and KeepaliveInterval are the BGP timers (defaults 90 s
	// and HoldTime/3); ConnectRetry is how soon a failed connection is
	// retried (default 5 s).
	HoldTime, KeepaliveInterval, ConnectRetry time.Duration
	// Password turns on TCP-MD5 signatures (RFC 2385).
	Password string `json:"-"`
	// BFD runs a BFD session with the neighbour when Enabled (bfd): the
	// upstream router, told "neighbor X bfd", ends the BGP session, and so
	// withdraws the director's routes, within the detection time when the
	// director stops answering (a hung or cut-off machine, which TCP and
	// the hold time notice only after seconds); on this side a session
	// that times out (the neighbour went silent) resets the BGP session.
	BFD BGPBFD
}

// BGPBFD is a neighbour's BFD session (bfd). Zero timers take check's
// defaults: 300 ms each way, multiplier 3.
type BGPBFD struct {
	Enabled           bool
	MinRx, MinTx      time.Duration
	Multiplier        uint8
	Passive, Multihop bool
}

// bfdSession is the check.BFDSessionConfig of a neighbour's BFD session.
func (n BGPNeighbor) bfdSession() check.BFDSessionConfig {
	return check.BFDSessionConfig{
		Peer: n.Address, Local: n.LocalAddress, Multihop: n.BFD.Multihop,
		DesiredMinTx: n.BFD.MinTx, RequiredMinRx: n.BFD.MinRx, DetectMult: n.BFD.Multiplier,
		Passive: n.BFD.Passive,
	}
}

// BGP defaults.
const (
	defaultHoldTime        = 90 * time.Second
	defaultConnectRetry    = 5 * time.Second
	defaultDrainTime       = 2 * time.Second
	defaultWithdrawTimeout = 5 * time.Second
	maxBGPSeconds          = 65535
)

// ParseBGPFile reads a --bgp file (regular files only, size-capped as
// keepalived.conf is).
func ParseBGPFile(filename string) (*BGPConfig, error) {
	data, err := loadConfig.ReadFile(filename)
	if err != nil {
		return nil, fmt.Errorf("bgp: %w", err)
	}
	return ParseBGP(filename, data)
}

// ParseBGP parses a --bgp file. Errors are a keepalivedconf.ErrorList, each
// with its file:line:col.
func ParseBGP(filename string, data []byte) (*BGPConfig, error) {
	f, err := keepalivedconf.Parse(filename, data)
	if err != nil {
		return nil, err
	}
	p := bgpParser{c: &BGPConfig{announcePos: map[netip.Addr]keepalivedconf.Position{}, bfdPos: map[netip.Addr]keepalivedconf.Position{}}}
	p.top(filename, f.Stmts)
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return p.c, nil
}

type bgpParser struct {
	c    *BGPConfig
	errs keepalivedconf.ErrorList
}

func (p *bgpParser) errorf(pos keepalivedconf.Position, format string, args ...any) {
	p.errs = append(p.errs, keepalivedconf.Error{Pos: pos, Msg: "bgp: " + fmt.Sprintf(format, args...)})
}

// stmts returns the keyword statements of a list, refusing definitions,
// ~SEQ lines and @id conditions, which this file does not expand.
func (p *bgpParser) stmts(list []*keepalivedconf.Stmt) []*keepalivedconf.Stmt {
	var out []*keepalivedconf.Stmt
	for _, s := range list {
		switch {
		case s.Kind == keepalivedconf.KindComment:
		case s.Kind != keepalivedconf.KindStmt || s.Cond != "":
			p.errorf(s.Pos, "definitions, ~SEQ and @ conditions are not supported in the bgp file")
		default:
			out = append(out, s)
		}
	}
	return out
}

// inner returns the statements of a block, refusing a keyword given twice
// and a block after any keyword but those in blocks; seen is where each
// keyword was first given. Messages start with prefix.
func (p *bgpParser) inner(list []*keepalivedconf.Stmt, prefix string, blocks ...string) (out []*keepalivedconf.Stmt, seen map[string]keepalivedconf.Position) {
	seen = map[string]keepalivedconf.Position{}
	for _, x := range p.stmts(list) {
		kw := x.Keyword()
		if prev, dup := seen[kw]; dup {
			p.errorf(x.Pos, "%s%s given twice (first at %s)", prefix, kw, prev)
			continue
		}
		seen[kw] = x.Pos
		if x.Block != nil && !slices.Contains(blocks, kw) {
			p.errorf(x.Pos, "%s%s takes no block", prefix, kw)
			continue
		}
		out = append(out, x)
	}
	return out, seen
}

func (p *bgpParser) top(filename string, list []*keepalivedconf.Stmt) {
	c := p.c
	seen := map[string]keepalivedconf.Position{}
	var hasAS, hasID bool
	// Missing keywords are reported at the last statement (or the file's
	// start).
	end := keepalivedconf.Position{Filename: filename, Line: 1, Col: 1}
	for _, s := range p.stmts(list) {
		kw := s.Keyword()
		end = s.Pos
		if prev, dup := seen[kw]; dup && kw != "neighbor" && kw != "announce" && kw != "community" {
			p.errorf(s.Pos, "%s given twice (first at %s)", kw, prev)
			continue
		}
		seen[kw] = s.Pos
		if kw != "neighbor" && s.Block != nil {
			p.errorf(s.Pos, "%s takes no block", kw)
			continue
		}
		switch kw {
		case "local_as":
			c.LocalAS, hasAS = p.asn(s), true
		case "router_id":
			if a, ok := p.addr(s, 1); ok {
				if !a.Is4() {
					p.errorf(s.ArgPos(1), "router_id must be an IPv4 address")
				}
				c.RouterID, hasID = a, true
			}
		case "listen_port":
			c.ListenPort = uint16(p.uint(s, 0, math.MaxUint16))
		case "neighbor":
			p.neighbor(s)
		case "announce":
			p.announce(s)
		case "announce_when":
			switch v := p.one(s); v {
			case "all":
			case "any":
				c.AnnounceAny = true
			case "":
			default:
				p.errorf(s.ArgPos(1), "announce_when %q: want all or any", v)
			}
		case "community":
			p.community(s)
		case "med":
			c.MED, c.HasMED = uint32(p.uint(s, 0, math.MaxUint32)), true
		case "next_hop":
			if v := p.one(s); v != "self" && v != "" {
				p.errorf(s.ArgPos(1), "next_hop %q is not supported: the next hop is always the session's own address (next_hop self)", v)
			}
		case "drain_time":
			c.DrainTime = p.seconds(s, 0, 3600)
		case "withdraw_timeout":
			c.WithdrawTimeout = p.seconds(s, 0.001, 3600)
		case "vip_interface":
			c.VIPInterface = p.one(s)
		case "sloppy_tcp":
			c.SloppyTCP = p.flag(s)
		case "sloppy_sctp":
			c.SloppySCTP = p.flag(s)
		default:
			p.errorf(s.Pos, "unknown keyword %q: not supported", kw)
		}
	}
	if !hasAS {
		p.errorf(end, "local_as is required")
	}
	if !hasID {
		p.errorf(end, "router_id is required")
	}
	if len(c.Neighbors) == 0 {
		p.errorf(end, "at least one neighbor is required")
	}
	if _, ok := seen["announce"]; !ok {
		c.AnnounceAll = true
	}
	if _, ok := seen["drain_time"]; !ok {
		c.DrainTime = defaultDrainTime
	}
	if _, ok := seen["withdraw_timeout"]; !ok {
		c.WithdrawTimeout = defaultWithdrawTimeout
	}
}

func (p *bgpParser) neighbor(s *keepalivedconf.Stmt) {
	n := BGPNeighbor{Port: 179, ConnectRetry: defaultConnectRetry, HoldTime: defaultHoldTime}
	a, ok := p.addr(s, 1)
	if !ok {
		return
	}
	n.Address = a
	for _, prev := range p.c.Neighbors {
		if prev.Address == a {
			p.errorf(s.ArgPos(1), "neighbor %s given twice", a)
			return
		}
	}
	if s.Block == nil {
		p.errorf(s.Pos, "neighbor %s needs a { } block with remote_as", a)
		return
	}
	var keepalive bool
	list, seen := p.inner(s.Block.Stmts, "", "bfd")
	for _, b := range list {
		switch kw := b.Keyword(); kw {
		case "bfd":
			n.BFD = p.bfd(b)
			p.c.bfdPos[a] = b.Pos
		case "remote_as":
			n.RemoteAS = p.asn(b)
		case "port":
			n.Port = uint16(p.uint(b, 1, math.MaxUint16))
		case "local_address":
			if la, ok := p.addr(b, 1); ok {
				if la.Is4() != a.Is4() {
					p.errorf(b.ArgPos(1), "local_address %s is not of neighbor %s's family", la, a)
				}
				n.LocalAddress = la
			}
		case "hold_time":
			n.HoldTime = time.Duration(p.uint(b, 0, maxBGPSeconds)) * time.Second
			if n.HoldTime > 0 && n.HoldTime < 3*time.Second {
				p.errorf(b.ArgPos(1), "hold_time must be 0 or at least 3 seconds (RFC 4271)")
			}
		case "keepalive_interval":
			n.KeepaliveInterval, keepalive = time.Duration(p.uint(b, 1, maxBGPSeconds))*time.Second, true
		case "connect_retry":
			n.ConnectRetry = time.Duration(p.uint(b, 1, maxBGPSeconds)) * time.Second
		case "password":
			n.Password = p.one(b)
			if len(n.Password) > 80 {
				p.errorf(b.ArgPos(1), "password longer than 80 bytes (TCP-MD5's limit)")
			}
		default:
			p.errorf(b.Pos, "neighbor: unknown keyword %q: not supported", kw)
		}
	}
	if _, ok := seen["remote_as"]; !ok {
		p.errorf(s.Pos, "neighbor %s: remote_as is required", a)
	}
	if !keepalive {
		n.KeepaliveInterval = n.HoldTime / 3
	} else if n.HoldTime > 0 && n.KeepaliveInterval >= n.HoldTime {
		p.errorf(seen["keepalive_interval"], "keepalive_interval must be shorter than hold_time")
	}
	p.c.Neighbors = append(p.c.Neighbors, n)
}

// bfd reads a neighbour's bfd line and its optional block.
func (p *bgpParser) bfd(s *keepalivedconf.Stmt) BGPBFD {
	b := BGPBFD{Enabled: true}
	if len(s.Tokens) > 1 {
		p.errorf(s.ArgPos(1), "bfd takes no value (its settings go in a { } block)")
	}
	if s.Block == nil {
		return b
	}
	list, _ := p.inner(s.Block.Stmts, "bfd: ")
	for _, x := range list {
		switch kw := x.Keyword(); kw {
		case "min_rx":
			b.MinRx = time.Duration(p.uint(x, 1, 60000)) * time.Millisecond
		case "min_tx":
			b.MinTx = time.Duration(p.uint(x, 1, 60000)) * time.Millisecond
		case "multiplier":
			b.Multiplier = uint8(p.uint(x, 1, 255))
		case "passive":
			b.Passive = p.flag(x)
		case "multihop":
			b.Multihop = p.flag(x)
		default:
			p.errorf(x.Pos, "bfd: unknown keyword %q: not supported", kw)
		}
	}
	return b
}

func (p *bgpParser) announce(s *keepalivedconf.Stmt) {
	args := s.Args()
	if len(args) == 0 {
		p.errorf(s.Pos, "announce needs all or addresses")
		return
	}
	for i, v := range args {
		if v == "all" {
			if len(args) > 1 || p.c.AnnounceAll || len(p.c.Announce) > 0 {
				p.errorf(s.ArgPos(i+1), "announce all excludes other announce addresses")
			}
			p.c.AnnounceAll = true
			continue
		}
		if p.c.AnnounceAll {
			p.errorf(s.ArgPos(i+1), "announce all excludes other announce addresses")
			continue
		}
		a, ok := p.addr(s, i+1)
		if !ok {
			continue
		}
		if prev, dup := p.c.announcePos[a]; dup {
			p.errorf(s.ArgPos(i+1), "announce %s given twice (first at %s)", a, prev)
			continue
		}
		p.c.announcePos[a] = s.ArgPos(i + 1)
		p.c.Announce = append(p.c.Announce, a)
	}
}

// wellKnownCommunities are RFC 1997's named communities.
var wellKnownCommunities = map[string]uint32{
	"no-export": 0xFFFFFF01, "no-advertise": 0xFFFFFF02, "no-export-subconfed": 0xFFFFFF03,
	"local-as": 0xFFFFFF03, "blackhole": 0xFFFF029A, "graceful-shutdown": 0xFFFF0000,
}

func (p *bgpParser) community(s *keepalivedconf.Stmt) {
	args := s.Args()
	if len(args) == 0 {
		p.errorf(s.Pos, "community needs ASN:VALUE or a well-known name")
	}
	for i, v := range args {
		if c, ok := wellKnownCommunities[strings.ToLower(v)]; ok {
			p.c.Communities = append(p.c.Communities, c)
			continue
		}
		hi, lo, ok := strings.Cut(v, ":")
		h, err1 := strconv.ParseUint(hi, 10, 16)
		l, err2 := strconv.ParseUint(lo, 10, 16)
		if !ok || err1 != nil || err2 != nil {
			p.errorf(s.ArgPos(i+1), "community %q: want ASN:VALUE (each 0-65535) or one of no-export, no-advertise, no-export-subconfed, local-as, blackhole, graceful-shutdown", v)
			continue
		}
		p.c.Communities = append(p.c.Communities, uint32(h)<<16|uint32(l))
	}
}

// one returns the single argument of s, or "" after reporting its absence
// or extra words.
func (p *bgpParser) one(s *keepalivedconf.Stmt) string {
	switch n := len(s.Tokens) - 1; {
	case n < 1:
		p.errorf(s.Pos, "%s needs a value", s.Keyword())
		return ""
	case n > 1:
		p.errorf(s.ArgPos(2), "%s takes one value", s.Keyword())
	}
	return s.Arg(1)
}

func (p *bgpParser) flag(s *keepalivedconf.Stmt) bool {
	if len(s.Tokens) > 1 {
		p.errorf(s.ArgPos(1), "%s takes no value", s.Keyword())
	}
	return true
}

func (p *bgpParser) uint(s *keepalivedconf.Stmt, lo, hi uint64) uint64 {
	v := p.one(s)
	if v == "" {
		return lo
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n < lo || n > hi {
		p.errorf(s.ArgPos(1), "%s %q: want an integer from %d to %d", s.Keyword(), v, lo, hi)
		return lo
	}
	return n
}

func (p *bgpParser) seconds(s *keepalivedconf.Stmt, lo, hi float64) time.Duration {
	v := p.one(s)
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= lo && f <= hi) {
		p.errorf(s.ArgPos(1), "%s %q: want seconds from %g to %g", s.Keyword(), v, lo, hi)
		return 0
	}
	return time.Duration(f * float64(time.Second)).Round(time.Millisecond)
}

func (p *bgpParser) asn(s *keepalivedconf.Stmt) uint32 {
	return uint32(p.uint(s, 1, math.MaxUint32))
}

func (p *bgpParser) addr(s *keepalivedconf.Stmt, i int) (netip.Addr, bool) {
	v := s.Arg(i)
	if i == 1 && len(s.Tokens) > 2 && s.Keyword() != "announce" {
		p.errorf(s.ArgPos(2), "%s takes one address", s.Keyword())
	}
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" {
		p.errorf(s.ArgPos(i), "%s: %q is not an IP address", s.Keyword(), v)
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// checkBGP checks a BGP configuration against the plan it announces for:
// each announce address is a virtual server address.
func checkBGP(c *BGPConfig, p *Plan) error {
	if c == nil || c.AnnounceAll {
		return nil
	}
	have := map[netip.Addr]bool{}
	for _, a := range planVIPs(p) {
		have[a] = true
	}
	var errs keepalivedconf.ErrorList
	for _, a := range c.Announce {
		if !have[a] {
			errs = append(errs, keepalivedconf.Error{Pos: c.announcePos[a],
				Msg: fmt.Sprintf("bgp: announce %s: no virtual_server has this address (fwmark services are not supported by announce)", a)})
		}
	}
	return errs.Err()
}

// planVIPs returns the virtual server addresses of a plan, sorted.
// fwmark services have none.
func planVIPs(p *Plan) []netip.Addr {
	var out []netip.Addr
	for i := range p.Services {
		if a := p.Services[i].Service.Addr.Addr(); a.IsValid() && !slices.Contains(out, a.Unmap()) {
			out = append(out, a.Unmap())
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// bgpFile is the --bgp file, read by every load (-t, start, reload).
var bgpFile string

// loadBGP reads the --bgp file, if any, into the plan and checks it
// against the plan.
func loadBGP(p *Plan) error {
	if bgpFile == "" {
		return nil
	}
	c, err := ParseBGPFile(bgpFile)
	if err != nil {
		return err
	}
	if err := checkBGP(c, p); err != nil {
		return err
	}
	if err := bgpBFDSessions(c, p); err != nil {
		return err
	}
	p.BGP = c
	return nil
}

// bgpBFDPrefix starts the name of a neighbour's BFD session among the
// plan's BFD sessions.
const bgpBFDPrefix = "bgp:"

// bgpBFDSessions adds a BFD session to p for each neighbour with bfd,
// named "bgp:" and its address: the router runs them beside the
// bfd_instance sessions, on the same sockets. A bfd_instance to the same
// neighbour from the same source would be the same session, and is
// refused.
func bgpBFDSessions(c *BGPConfig, p *Plan) error {
	var errs keepalivedconf.ErrorList
	for _, n := range c.Neighbors {
		if !n.BFD.Enabled {
			continue
		}
		s := BFDSession{Name: bgpBFDPrefix + n.Address.String(), Config: n.bfdSession()}
		clash := false
		for _, o := range p.BFD {
			if o.Name == s.Name || o.Config.Peer == s.Config.Peer && o.Config.Local == s.Config.Local && o.Config.Multihop == s.Config.Multihop {
				errs = append(errs, keepalivedconf.Error{Pos: c.bfdPos[n.Address],
					Msg: fmt.Sprintf("bgp: neighbor %s: bfd: bfd_instance %s already runs a session to %s from the same source", n.Address, o.Name, n.Address)})
				clash = true
			}
		}
		if !clash {
			p.BFD = append(p.BFD, s)
		}
	}
	return errs.Err()
}
