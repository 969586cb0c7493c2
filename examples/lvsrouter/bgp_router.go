package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/fwmark"
)

// routerBGP is the Router's BGP part (--bgp): the speaker, what it
// announces, and the VIPs lvsrouter put on the VIP interface.
type routerBGP struct {
	cfg *BGPConfig
	sp  bgpSpeaker
	ann *bgpAnnouncer
	// newSpeaker starts a speaker (startSpeaker; tests replace it).
	newSpeaker func(ctx context.Context, c *BGPConfig, log *slog.Logger) (bgpSpeaker, error)
	// unhealthy is set when the checkers stopped while the router runs:
	// every VIP is withdrawn.
	unhealthy atomic.Bool
	// vips are the addresses lvsrouter added to the VIP interface (ones
	// that were there already are not ours to remove).
	vips []vipAddr
	// sloppy is which of sloppy_tcp and sloppy_sctp were set.
	sloppy [2]bool
	// live is sp, for the BFD manager's goroutine.
	live atomic.Pointer[bgpSpeaker]
}

// syncBGP starts, reconfigures or stops the speaker for a new plan. A
// plan whose BGP configuration is unchanged changes nothing here; a new
// AS, router ID or listening port restarts the speaker, whose sessions
// then end (the upstream withdraws everything it learned from them) and
// come back with the wanted VIPs.
func (r *Router) syncBGP(ctx context.Context, p *Plan) error {
	b := &r.bgp
	if b.newSpeaker == nil {
		b.newSpeaker = startSpeaker
	}
	c := p.BGP
	if b.sp != nil && (c == nil || bgpGlobalChanged(b.cfg, c)) {
		if c == nil {
			r.drainBGP(ctx)
		} else {
			r.log.Warn("bgp: local_as, router_id or listen_port changed: restarting the speaker")
		}
		r.stopBGP()
	}
	// New VIPs go on the interface now; ones no longer announced leave it
	// after their withdraw (bgpAfter).
	r.syncVIPs(p, c == nil)
	if c == nil {
		b.cfg = nil
		return nil
	}
	if b.sp == nil {
		sp, err := b.newSpeaker(ctx, c, r.log)
		if err != nil {
			return err
		}
		b.sp = sp
		b.live.Store(&sp)
		b.ann = newBGPAnnouncer(c, sp, r.log)
	}
	b.cfg, b.ann.cfg = c, c
	return b.sp.SetNeighbors(ctx, c.Neighbors)
}

// syncVIPs puts the plan's candidate VIPs on the VIP interface and, with
// remove, removes the ones lvsrouter added that are no longer wanted there.
func (r *Router) syncVIPs(p *Plan, remove bool) {
	b := &r.bgp
	var want []vipAddr
	if c := p.BGP; c != nil && c.VIPInterface != "" {
		for _, a := range bgpCandidates(c, p) {
			want = append(want, vipAddr{c.VIPInterface, netip.PrefixFrom(a, a.BitLen())})
		}
	}
	kept := b.vips[:0]
	for _, v := range b.vips {
		if !remove || slices.Contains(want, v) {
			kept = append(kept, v)
			continue
		}
		if err := vipDel(v.Iface, v.Prefix); err != nil {
			r.log.Warn("bgp: removing vip", "interface", v.Iface, "vip", v.Prefix, "err", err)
		}
	}
	b.vips = kept
	for _, v := range want {
		if slices.Contains(b.vips, v) {
			continue
		}
		added, err := vipAdd(v.Iface, v.Prefix)
		if err != nil {
			r.log.Error("bgp: adding vip", "interface", v.Iface, "vip", v.Prefix, "err", err)
			continue
		}
		if added {
			b.vips = append(b.vips, v)
		}
	}
}

// vipAdd and vipDel put a VIP on its interface and take it off (addVIP and
// delVIP; tests replace them).
var (
	vipAdd = addVIP
	vipDel = delVIP
)

// vipAddr is a VIP on an interface.
type vipAddr struct {
	Iface  string
	Prefix netip.Prefix
}

// bgpWant is what the speaker should announce now. r.mu is held.
func (r *Router) bgpWant() map[netip.Prefix]bgpAttrs {
	if r.bgp.cfg == nil {
		return nil
	}
	return bgpWanted(r.bgp.cfg, r.plan, r.quorum, !r.bgp.unhealthy.Load())
}

// bgpBefore withdraws what is no longer wanted, before the IPVS change.
func (r *Router) bgpBefore(ctx context.Context, want map[netip.Prefix]bgpAttrs) {
	if r.bgp.ann == nil {
		return
	}
	if err := r.bgp.ann.withdraw(ctx, want); err != nil {
		r.log.Error("bgp", "err", err)
	}
	r.publishBGP()
}

// bgpAfter announces what is wanted, after the IPVS change succeeded, and
// sets the sloppy sysctls once IPVS is loaded.
func (r *Router) bgpAfter(ctx context.Context, want map[netip.Prefix]bgpAttrs) {
	b := &r.bgp
	// Once IPVS is loaded, and again when a reload turns one on.
	if b.cfg != nil && r.applier != nil && (b.cfg.SloppyTCP && !b.sloppy[0] || b.cfg.SloppySCTP && !b.sloppy[1]) {
		b.sloppy = [2]bool{b.cfg.SloppyTCP, b.cfg.SloppySCTP}
		if err := setSloppy(ctx, b.cfg.SloppyTCP, b.cfg.SloppySCTP); err != nil {
			r.log.Error("bgp: sloppy sysctls", "err", err)
		}
	}
	if b.ann == nil {
		return
	}
	if err := b.ann.announce(ctx, want); err != nil {
		r.log.Error("bgp", "err", err)
	}
	if len(b.vips) > 0 {
		r.mu.Lock()
		p := r.plan
		r.mu.Unlock()
		r.syncVIPs(p, true)
	}
	r.publishBGP()
}

// checkersStopped withdraws every VIP: the checkers, which decide quorum,
// no longer run.
func (r *Router) checkersStopped(err error) {
	r.log.Error("checkers stopped; withdrawing every BGP announcement", "err", err)
	r.bgp.unhealthy.Store(true)
	r.poke()
}

// drainBGP withdraws every announcement and waits for the upstream to
// move the flows (bgpAnnouncer.drain), bounded; it runs before any IPVS
// state is removed. Then the VIPs lvsrouter added leave their interface,
// still before IPVS: a packet that the upstream sends here after the
// drain is then dropped, and its retransmission reaches the director the
// upstream uses by then, instead of being reset by this host's own stack
// (the VIP still local, its service gone) between the IPVS release and
// the exit.
func (r *Router) drainBGP(ctx context.Context) {
	if r.bgp.ann == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.bgp.cfg.WithdrawTimeout+r.bgp.cfg.DrainTime+time.Second)
	defer cancel()
	if _, err := r.bgp.ann.drain(ctx); err != nil {
		r.log.Error("bgp: drain", "err", err)
	}
	if len(r.bgp.vips) > 0 {
		r.syncVIPs(&Plan{}, true)
		r.log.Info("bgp: vips removed before ipvs")
	}
	r.publishBGP()
}

// bgpBFDDown resets the BGP session with a neighbour whose BFD session
// went from Up to Down, as the neighbour does on its side: the session
// comes back once TCP gets through again. It does not wait for the
// speaker (the BFD manager delivers transitions in order, one at a time).
func (r *Router) bgpBFDDown(n netip.Addr, diag check.BFDDiag) {
	p := r.bgp.live.Load()
	if p == nil {
		return
	}
	sp := *p
	r.log.Warn("bgp: BFD session down; resetting the BGP session", "neighbor", n, "diag", diag)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := sp.Reset(ctx, n, "BFD session down ("+diag.String()+")"); err != nil {
			r.log.Warn("bgp: reset", "neighbor", n, "err", err)
		}
	}()
}

// stopBGP stops the speaker.
func (r *Router) stopBGP() {
	b := &r.bgp
	if b.sp == nil {
		return
	}
	if err := b.sp.Close(); err != nil && !errors.Is(err, context.Canceled) {
		r.log.Warn("bgp: stop", "err", err)
	}
	b.sp, b.ann = nil, nil
	b.live.Store(nil)
}

// closeBGP stops the speaker and removes the VIPs lvsrouter added; it runs
// after IPVS state was released.
func (r *Router) closeBGP() {
	r.stopBGP()
	r.syncVIPs(&Plan{}, true)
	r.bgp.cfg = nil
	r.publishBGP()
}

// sysctlRoot is the sysctl tree setSloppy writes ("": /proc/sys; tests
// point it at a directory of files).
var sysctlRoot string

// setSloppy sets net.ipv4.vs.sloppy_tcp and sloppy_sctp to 1 where asked,
// through fwmark's Sysctl, which owns kernel parameters. They stay set when
// lvsrouter stops, as the IPVS module's other settings do.
func setSloppy(ctx context.Context, tcp, sctp bool) error {
	var errs []error
	for _, k := range []struct {
		on  bool
		key string
	}{{tcp, "net.ipv4.vs.sloppy_tcp"}, {sctp, "net.ipv4.vs.sloppy_sctp"}} {
		if !k.on {
			continue
		}
		if _, err := (fwmark.Sysctl{Root: sysctlRoot}).Set(ctx, k.key, "1"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// publishBGP tells the status socket and the metrics which VIPs are
// announced.
func (r *Router) publishBGP() {
	var m map[netip.Prefix]bool
	if b := &r.bgp; b.cfg != nil {
		m = map[netip.Prefix]bool{}
		r.mu.Lock()
		for _, a := range bgpCandidates(b.cfg, r.plan) {
			m[netip.PrefixFrom(a, a.BitLen())] = false
		}
		r.mu.Unlock()
		if b.ann != nil {
			for p := range b.ann.announced {
				m[p] = true
			}
		}
	}
	r.ops.mu.Lock()
	r.ops.bgp = m
	r.ops.mu.Unlock()
}

// bgpStatus writes the status socket's "bgp" member. o.mu is held.
func (o *opsState) bgpStatus(b *bytes.Buffer) {
	if o.bgp == nil {
		return
	}
	b.WriteString(`,"bgp":[`)
	for i, p := range slices.SortedFunc(maps.Keys(o.bgp), netip.Prefix.Compare) {
		if i > 0 {
			b.WriteByte(',')
		}
		j := newObject(b)
		j.str("prefix", p.String())
		j.bool("announced", o.bgp[p])
		j.end()
	}
	b.WriteByte(']')
}
