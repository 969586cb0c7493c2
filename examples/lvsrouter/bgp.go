package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The BGP side of lvsrouter (--bgp FILE) for scale-out: every director is
// active and announces its VIPs to the upstream router, which spreads
// flows over the directors by ECMP. This file is the pure decision: which
// VIPs to announce given the plan, each service's quorum and the router's
// health, and the order of withdraws, IPVS changes and announcements. The
// speaker itself (GoBGP, in the lvsrouter-bgp process) sits behind
// bgpSpeaker (bgp_speaker.go).
//
// A VIP is announced, as its /32 or /128, while its virtual services have
// quorum (keepalived's quorum with hysteresis, as lvsrouter computes it for
// quorum_up/quorum_down: every service at the address, or any one with
// announce_when any) and the router is healthy (its checkers run).
// Withdraws go out before the IPVS change that follows a quorum loss;
// announcements after the IPVS change succeeded. On stop, every VIP is
// withdrawn first, lvsrouter waits until the withdraw went out to every
// established neighbour (bounded by withdraw_timeout) and then drain_time
// more, takes the VIPs it added off their interface (a late packet is then
// dropped and retransmitted, not reset by the local stack), and only then
// removes IPVS state.

// bgpAttrs are an announcement's path attributes; comparable, so that a
// reload that changes nothing re-announces nothing.
type bgpAttrs struct {
	MED    uint32
	HasMED bool
	// Communities is the list of communities, as decimal numbers joined
	// by commas (comparable).
	Communities string
}

func (c *BGPConfig) attrs() bgpAttrs {
	a := bgpAttrs{MED: c.MED, HasMED: c.HasMED}
	s := make([]string, len(c.Communities))
	for i, v := range c.Communities {
		s[i] = strconv.FormatUint(uint64(v), 10)
	}
	a.Communities = strings.Join(s, ",")
	return a
}

// communities returns the attribute's communities.
func (a bgpAttrs) communities() []uint32 {
	if a.Communities == "" {
		return nil
	}
	var out []uint32
	for s := range strings.SplitSeq(a.Communities, ",") {
		v, _ := strconv.ParseUint(s, 10, 32)
		out = append(out, uint32(v))
	}
	return out
}

// bgpCandidates returns the VIPs a configuration may announce: the listed
// ones, or every virtual server address of the plan.
func bgpCandidates(c *BGPConfig, p *Plan) []netip.Addr {
	if c == nil {
		return nil
	}
	if c.AnnounceAll {
		return planVIPs(p)
	}
	out := slices.Clone(c.Announce)
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// bgpWanted returns the host prefixes to announce: each candidate VIP whose
// virtual services have quorum (all of them, or any with AnnounceAny),
// while the router is healthy. quorum holds each service's quorum state
// by position in p (Router.quorum, read with stateAt); a service
// without one has quorum (keepalived starts a service with quorum).
func bgpWanted(c *BGPConfig, p *Plan, quorum []uint8, healthy bool) map[netip.Prefix]bgpAttrs {
	out := map[netip.Prefix]bgpAttrs{}
	if c == nil || p == nil || !healthy {
		return out
	}
	type count struct{ up, all int }
	per := map[netip.Addr]count{}
	for i := range p.Services {
		s := &p.Services[i].Service
		a := s.Addr.Addr().Unmap()
		if !a.IsValid() {
			continue
		}
		n := per[a]
		n.all++
		if up, seen := stateAt(quorum, i); up || !seen {
			n.up++
		}
		per[a] = n
	}
	attrs := c.attrs()
	for _, a := range bgpCandidates(c, p) {
		n := per[a]
		if n.all == 0 || n.up == 0 || (!c.AnnounceAny && n.up < n.all) {
			continue
		}
		out[netip.PrefixFrom(a, a.BitLen())] = attrs
	}
	return out
}

// bgpSpeaker is the BGP speaker lvsrouter drives: the lvsrouter-bgp
// process (bgp_speaker.go), or a fake in tests.
type bgpSpeaker interface {
	// SetNeighbors makes the speaker's neighbours these: new ones are
	// added, gone ones removed, changed ones replaced.
	SetNeighbors(ctx context.Context, ns []BGPNeighbor) error
	// Announce announces a prefix with next hop self, or replaces its
	// attributes.
	Announce(ctx context.Context, p netip.Prefix, a bgpAttrs) error
	// Withdraw withdraws a prefix.
	Withdraw(ctx context.Context, p netip.Prefix) error
	// Sent returns, for each established neighbour, how many UPDATE
	// messages went out to it so far.
	Sent(ctx context.Context) (map[netip.Addr]uint64, error)
	// Reset ends the session with a neighbour (a Cease NOTIFICATION
	// carrying why); the speaker connects again as after any loss.
	Reset(ctx context.Context, neighbor netip.Addr, why string) error
	// Close stops the speaker: its sessions end.
	Close() error
}

// bgpAnnouncer keeps a speaker's announcements equal to what the router
// wants, changing only what changed.
type bgpAnnouncer struct {
	cfg       *BGPConfig
	sp        bgpSpeaker
	log       *slog.Logger
	announced map[netip.Prefix]bgpAttrs
	// sleep waits d or until ctx ends (tests replace it).
	sleep func(ctx context.Context, d time.Duration)
	// poll is how often drain looks at the UPDATE counters.
	poll time.Duration
}

func newBGPAnnouncer(c *BGPConfig, sp bgpSpeaker, log *slog.Logger) *bgpAnnouncer {
	return &bgpAnnouncer{cfg: c, sp: sp, log: log, announced: map[netip.Prefix]bgpAttrs{}, sleep: sleepCtx, poll: 5 * time.Millisecond}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// withdraw withdraws what is announced and not wanted. It runs before the
// IPVS change, so that traffic leaves before the services lose their real
// servers.
func (a *bgpAnnouncer) withdraw(ctx context.Context, want map[netip.Prefix]bgpAttrs) error {
	var errs []error
	for _, p := range slices.SortedFunc(maps.Keys(a.announced), netip.Prefix.Compare) {
		if _, ok := want[p]; ok {
			continue
		}
		if err := a.sp.Withdraw(ctx, p); err != nil {
			errs = append(errs, fmt.Errorf("bgp: withdraw %s: %w", p, err))
			continue
		}
		delete(a.announced, p)
		a.log.Info("bgp: withdrawn", "prefix", p)
	}
	return errors.Join(errs...)
}

// announce announces what is wanted and not announced with these
// attributes. It runs after the IPVS change succeeded.
func (a *bgpAnnouncer) announce(ctx context.Context, want map[netip.Prefix]bgpAttrs) error {
	var errs []error
	for _, p := range slices.SortedFunc(maps.Keys(want), netip.Prefix.Compare) {
		attrs := want[p]
		if old, ok := a.announced[p]; ok && old == attrs {
			continue
		}
		if err := a.sp.Announce(ctx, p, attrs); err != nil {
			errs = append(errs, fmt.Errorf("bgp: announce %s: %w", p, err))
			continue
		}
		a.announced[p] = attrs
		a.log.Info("bgp: announced", "prefix", p)
	}
	return errors.Join(errs...)
}

// drain withdraws every announcement, waits until an UPDATE went out to
// every neighbour that was established (bounded by WithdrawTimeout), then
// DrainTime more, for the upstream router to move the flows; with no
// neighbour established it does not wait. It returns how long it waited
// for the UPDATEs.
func (a *bgpAnnouncer) drain(ctx context.Context) (time.Duration, error) {
	if len(a.announced) == 0 {
		return 0, nil
	}
	before, err := a.sp.Sent(ctx)
	if err != nil {
		a.log.Warn("bgp: reading neighbour counters", "err", err)
	}
	start := time.Now()
	werr := a.withdraw(ctx, nil)
	if err == nil && len(before) == 0 {
		// No neighbour had the routes: nothing to drain.
		a.log.Info("bgp: withdrawn; no neighbour established, no drain")
		return 0, werr
	}
	wctx, cancel := context.WithTimeout(ctx, a.cfg.WithdrawTimeout)
	defer cancel()
	for len(before) > 0 {
		now, err := a.sp.Sent(wctx)
		if err == nil && updatesSent(before, now) {
			break
		}
		if wctx.Err() != nil {
			a.log.Warn("bgp: withdraw not seen going out in time", "timeout", a.cfg.WithdrawTimeout)
			break
		}
		a.sleep(wctx, a.poll)
	}
	waited := time.Since(start)
	a.log.Info("bgp: withdraw sent; draining", "waited", waited, "drain_time", a.cfg.DrainTime)
	a.sleep(ctx, a.cfg.DrainTime)
	return waited, werr
}

// updatesSent reports whether every neighbour established in before has
// sent an UPDATE since, or is no longer established.
func updatesSent(before, now map[netip.Addr]uint64) bool {
	for n, b := range before {
		if c, ok := now[n]; ok && c <= b {
			return false
		}
	}
	return true
}

// bgpGlobalChanged reports whether two configurations differ in what needs
// a new speaker (AS, router ID, listening port).
func bgpGlobalChanged(a, b *BGPConfig) bool {
	return a.LocalAS != b.LocalAS || a.RouterID != b.RouterID || a.ListenPort != b.ListenPort
}
