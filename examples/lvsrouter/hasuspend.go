package main

import (
	"errors"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/keepalivedconf"
)

// ha_suspend, as keepalived 2.2.7's checker process runs it: the checks
// of a virtual server with ha_suspend run only while its address is on a
// local interface (a BACKUP director, whose VIP is on the peer, does not
// probe the real servers). keepalived watches the kernel's address events
// (RTM_NEWADDR, RTM_DELADDR), counting an address once per interface that
// holds it, and suspends the checkers when the count drops to zero. A
// suspended checker keeps its state: nothing changes in IPVS (the service
// and its destinations stay as they were, alpha servers stay out until a
// check passes) and no notify script runs. Checks resume when the address
// appears, each within one delay_loop. The addresses are watched by the
// process that runs the checks, so a -C process follows the VIPs its -P
// twin adds, as keepalived's checker child follows its VRRP child's.
//
// keepalived refuses ha_suspend on a firewall-mark service ("cannot use
// ha_suspend with fwmarks", -t fails), and so does lvsrouter. For a
// virtual_server_group, keepalived 2.2.7's address match returns false
// for every group (a test on vs->vsg comes before the code meant for
// groups), so its checks never resume; lvsrouter does what that code
// means: the checks run while any address of the group is local.

// haSuspend reads a virtual_server's ha_suspend. It returns the statement
// (nil without the keyword) and an error, with its place, for a
// firewall-mark service or a group with firewall marks.
func haSuspend(vs *keepalivedconf.VirtualServer, groups map[string]*keepalivedconf.VirtualServerGroup) (*keepalivedconf.Stmt, error) {
	if vs.Stmt == nil || vs.Stmt.Block == nil {
		return nil, nil
	}
	s := vs.Stmt.Block.Find("ha_suspend")
	if s == nil {
		return nil, nil
	}
	marks := vs.FWMark != 0
	if g, ok := groups[vs.Group]; ok && vs.Group != "" {
		for _, m := range g.Members {
			marks = marks || m.FWMark != 0
		}
	}
	if marks {
		return nil, errAt(s, "virtual_server: cannot use ha_suspend with fwmarks")
	}
	return s, nil
}

// haSuspendAddrs is the set of addresses whose presence resumes the checks
// of the services keys: every address the virtual server (or its group)
// serves, sorted.
func haSuspendAddrs(keys []ipvs.ServiceSettings) []netip.Addr {
	var out []netip.Addr
	for _, k := range keys {
		if k.FWMark == 0 && k.Addr.IsValid() {
			out = append(out, k.Addr.Addr())
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// ifAddr is an address on one interface: keepalived counts an address
// once per interface holding it.
type ifAddr struct {
	Index int
	Addr  netip.Addr
}

// addrChange is one address event from the kernel.
type addrChange struct {
	ifAddr
	Added bool
}

// haSuspender is the router's ha_suspend state: the local addresses it
// last saw and the check targets it suspended.
type haSuspender struct {
	// mu serialises syncs (Load's and the watcher's); taken before r.mu,
	// never while holding it.
	mu      sync.Mutex
	watched bool
	done    chan struct{}
	local   map[ifAddr]bool
	// state guards suspended alone, so that dumps (under r.mu) can read
	// it.
	state     sync.Mutex
	suspended map[string]bool
}

// suspended reports whether ha_suspend holds the check target id.
func (h *haSuspender) isSuspended(id string) bool {
	h.state.Lock()
	defer h.state.Unlock()
	return h.suspended[id]
}

// isLocal reports whether a is on some interface. h.mu is held.
func (h *haSuspender) isLocal(a netip.Addr) bool {
	for k := range h.local {
		if k.Addr == a {
			return true
		}
	}
	return false
}

// haSuspendTargets returns, for the plan p, the check targets that must
// be suspended: their service has ha_suspend and none of its addresses is
// local.
func haSuspendTargets(p *Plan, local func(netip.Addr) bool) []string {
	if p == nil {
		return nil
	}
	var suspend []string
	// By index: a copy of each of 10,000 services per reload took tens
	// of milliseconds in the guest.
	for i := range p.Services {
		vs := &p.Services[i]
		if !vs.HASuspend || slices.ContainsFunc(vs.getRare().haSuspendAddrs, local) {
			continue
		}
		for _, rs := range vs.Reals {
			for _, t := range rs.Checks {
				if !isBFDCheck(t) {
					suspend = append(suspend, t.ID)
				}
			}
		}
	}
	return suspend
}

// hasHASuspend reports whether a service of p has ha_suspend.
func hasHASuspend(p *Plan) bool {
	for i := range p.Services {
		if p.Services[i].HASuspend {
			return true
		}
	}
	return false
}

// syncHASuspend suspends and resumes the checks of ha_suspend services to
// match the local addresses: Load calls it once the plan's checks are in
// the Monitor. The first plan with ha_suspend starts the address watcher,
// after reading the addresses present.
func (r *Router) syncHASuspend() {
	h := &r.hs
	h.mu.Lock()
	defer h.mu.Unlock()
	r.mu.Lock()
	p := r.plan
	r.mu.Unlock()
	if !h.watched && p != nil && hasHASuspend(p) {
		h.watched = true
		h.done = make(chan struct{})
		ch, err := r.resubscribe(h.done)
		if err != nil {
			// The checks then run as if the addresses were local.
			r.log.Error("ha_suspend: cannot watch the local addresses; checks are not suspended", "err", err)
		}
		go r.watchAddrs(h.done, ch)
	}
	r.syncHASuspendLocked(p)
}

// resubscribe subscribes to the kernel's address events and then lists
// the addresses present into h.local, so that no change is lost between
// the two. h.mu is held.
func (r *Router) resubscribe(done <-chan struct{}) (<-chan addrChange, error) {
	h := &r.hs
	ch, err := subscribeAddrs(done, func(err error) {
		select {
		case <-done: // the subscription ends as the router stops
		default:
			r.log.Warn("ha_suspend: address events", "err", err)
		}
	})
	if err != nil {
		return nil, err
	}
	list, err := listAddrs()
	if err != nil {
		return ch, err
	}
	h.local = make(map[ifAddr]bool, len(list))
	for _, a := range list {
		h.local[a] = true
	}
	return ch, nil
}

// watchAddrs follows the kernel's address events until done is closed,
// subscribing again (and listing again) when the events fail.
func (r *Router) watchAddrs(done <-chan struct{}, ch <-chan addrChange) {
	h := &r.hs
	for {
		if ch == nil {
			select {
			case <-done:
				return
			case <-time.After(resubscribeDelay):
			}
			h.mu.Lock()
			var err error
			if ch, err = r.resubscribe(done); err != nil {
				r.log.Error("ha_suspend: cannot watch the local addresses", "err", err)
			}
			r.mu.Lock()
			p := r.plan
			r.mu.Unlock()
			r.syncHASuspendLocked(p)
			h.mu.Unlock()
			continue
		}
		select {
		case <-done:
			return
		case c, ok := <-ch:
			if !ok {
				ch = nil
				continue
			}
			h.mu.Lock()
			// Fold a burst of events into one sync.
			for more := true; more; {
				if c.Added {
					h.local[c.ifAddr] = true
				} else {
					delete(h.local, c.ifAddr)
				}
				select {
				case c, more = <-ch:
				default:
					more = false
				}
			}
			r.mu.Lock()
			p := r.plan
			r.mu.Unlock()
			r.syncHASuspendLocked(p)
			h.mu.Unlock()
		}
	}
}

// closeHASuspend stops the address watcher.
func (r *Router) closeHASuspend() {
	h := &r.hs
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done != nil {
		close(h.done)
		h.done = nil
	}
}

// syncHASuspendLocked suspends and resumes targets for plan p. h.mu is
// held.
func (r *Router) syncHASuspendLocked(p *Plan) {
	h := &r.hs
	suspend := haSuspendTargets(p, h.isLocal)
	if h.local == nil {
		// No address list: nothing is suspended rather than all.
		suspend = nil
	}
	h.state.Lock()
	prev := h.suspended
	h.suspended = make(map[string]bool, len(suspend))
	for _, id := range suspend {
		h.suspended[id] = true
	}
	h.state.Unlock()
	for _, id := range suspend {
		if !prev[id] {
			if err := r.mon.Suspend(id); err != nil {
				r.log.Error("ha_suspend", "target", id, "err", err)
				continue
			}
			r.log.Info("Suspending healthchecker", "target", id)
		}
	}
	// Every target suspended before and not now resumes: its address
	// came, or a reload took ha_suspend off its service. One the reload
	// removed is gone from the Monitor already.
	for id := range prev {
		if h.suspended[id] {
			continue
		}
		switch err := r.mon.Resume(id); {
		case errors.Is(err, check.ErrNotFound):
		case err != nil:
			r.log.Error("ha_suspend", "target", id, "err", err)
		default:
			r.log.Info("Activating healthchecker", "target", id)
		}
	}
}

// resubscribeDelay is how long the watcher waits before it subscribes
// again after the kernel's address events failed (a receive buffer
// overrun, say).
const resubscribeDelay = 100 * time.Millisecond
