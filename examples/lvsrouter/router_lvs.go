package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/keepalivedconf"
	"github.com/lvskit/lvskit/vrrp"
)

// lvsState is what the router changed of IPVS's global state: the
// timeouts it found (to put back at stop) and the sync daemons it runs.
type lvsState struct {
	mu      sync.Mutex
	started bool // the first plan was loaded
	// orig are the timeouts found before the first change; zero TCP
	// when none was made.
	orig ipvs.Timeouts
	// sync is the running daemon configuration; running the roles
	// started.
	sync    *SyncDaemonPlan
	running map[ipvs.DaemonState]bool
	// master names the VRRP instances last seen entering MASTER.
	master map[string]bool
}

// ipvsClient connects to IPVS when the router has not yet.
func (r *Router) ipvsClient(ctx context.Context) (*ipvs.Client, error) {
	if r.ipvs == nil {
		c, err := ipvs.Dial(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("ipvs: %w", err)
		}
		r.ipvs, r.applier = c, ipvs.NewApplier(c)
	}
	return r.ipvs, nil
}

// needsIPVS tells whether the plan's global_defs ask anything of IPVS.
func (l LVSPlan) needsIPVS() bool {
	return l.SyncDaemon != nil || l.Flush || l.Timeouts != (ipvs.Timeouts{})
}

// loadLVS applies lvs_timeouts, lvs_sync_daemon and (at the first load
// only) lvs_flush, in keepalived's order, before the services.
func (r *Router) loadLVS(ctx context.Context, p *Plan) error {
	s := &r.lvs
	s.mu.Lock()
	defer s.mu.Unlock()
	first := !s.started
	s.started = true
	if !p.LVS.needsIPVS() && s.orig == (ipvs.Timeouts{}) && s.sync == nil {
		return nil
	}
	c, err := r.ipvsClient(ctx)
	if err != nil {
		return err
	}
	// Timeouts: unset ones are the kernel's values found at start, as
	// keepalived restores them.
	if t := p.LVS.Timeouts; t != (ipvs.Timeouts{}) || s.orig != (ipvs.Timeouts{}) {
		if s.orig == (ipvs.Timeouts{}) {
			if s.orig, err = c.Timeouts(ctx); err != nil {
				return fmt.Errorf("lvs_timeouts: %w", err)
			}
		}
		want := s.orig
		if t.TCP != 0 {
			want.TCP = t.TCP
		}
		if t.TCPFin != 0 {
			want.TCPFin = t.TCPFin
		}
		if t.UDP != 0 {
			want.UDP = t.UDP
		}
		if err := c.SetTimeouts(ctx, want); err != nil {
			return fmt.Errorf("lvs_timeouts: %w", err)
		}
	}
	// Sync daemon: restarted when its configuration changed.
	if !sameSync(s.sync, p.LVS.SyncDaemon) {
		r.stopSyncLocked(ctx)
		s.sync = p.LVS.SyncDaemon
		if first && s.sync != nil {
			// keepalived stops daemons left behind by an abnormal end.
			c.StopDaemon(ctx, ipvs.Master)
			c.StopDaemon(ctx, ipvs.Backup)
		}
		if s.sync != nil {
			if s.sync.Instance == "" {
				// keepalived's checker process runs both.
				r.startSyncLocked(ctx, ipvs.Master)
				r.startSyncLocked(ctx, ipvs.Backup)
			} else {
				// The instance starts in BACKUP; onVRRP follows it.
				role := ipvs.Backup
				if s.master[s.sync.Instance] {
					role = ipvs.Master
				}
				r.startSyncLocked(ctx, role)
			}
		}
	}
	if first && p.LVS.Flush {
		if err := c.Flush(ctx); err != nil {
			return fmt.Errorf("lvs_flush: %w", err)
		}
	}
	return nil
}

func sameSync(a, b *SyncDaemonPlan) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// startSyncLocked starts the daemon in role; s.mu is held.
func (r *Router) startSyncLocked(ctx context.Context, role ipvs.DaemonState) {
	s := &r.lvs
	if s.running[role] {
		return
	}
	d := s.sync.Daemon
	d.State = role
	if err := r.ipvs.StartDaemon(ctx, d); err != nil {
		r.log.Error("lvs_sync_daemon", "role", role.String(), "err", err)
		return
	}
	if s.running == nil {
		s.running = map[ipvs.DaemonState]bool{}
	}
	s.running[role] = true
	r.log.Info("lvs_sync_daemon started", "role", role.String(), "interface", d.Interface, "syncid", d.SyncID)
}

// stopSyncLocked stops the daemons this router started; s.mu is held.
func (r *Router) stopSyncLocked(ctx context.Context) {
	s := &r.lvs
	for role := range s.running {
		if err := r.ipvs.StopDaemon(ctx, role); err != nil {
			r.log.Warn("lvs_sync_daemon stop", "role", role.String(), "err", err)
		}
		delete(s.running, role)
	}
}

// syncFollow moves the sync daemon with its VRRP instance, as keepalived's
// VRRP process does: master daemon on becoming MASTER (the backup one
// stopped first), backup daemon on leaving it.
func (r *Router) syncFollow(name string, t vrrp.Transition) {
	s := &r.lvs
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.master == nil {
		s.master = map[string]bool{}
	}
	s.master[name] = t.To == vrrp.StateMaster
	if s.sync == nil || s.sync.Instance != name || r.ipvs == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	from, to := ipvs.Backup, ipvs.Master
	if t.To != vrrp.StateMaster {
		from, to = ipvs.Master, ipvs.Backup
	}
	if s.running[from] {
		if err := r.ipvs.StopDaemon(ctx, from); err != nil {
			r.log.Warn("lvs_sync_daemon stop", "role", from.String(), "err", err)
		}
		delete(s.running, from)
	}
	r.startSyncLocked(ctx, to)
}

// closeLVS stops the sync daemons, puts the timeouts back and, for
// lvs_flush_onstop, flushes the whole table (then nothing is left for the
// usual release of the router's own services). It runs after VRRP stopped.
func (r *Router) closeLVS() {
	s := &r.lvs
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.ipvs == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.sync = nil
	r.stopSyncLocked(ctx)
	if s.orig != (ipvs.Timeouts{}) {
		if err := r.ipvs.SetTimeouts(ctx, s.orig); err != nil {
			r.log.Warn("lvs_timeouts restore", "err", err)
		}
	}
	if r.plan != nil && r.plan.LVS.FlushOnStop == keepalivedconf.FlushFull && !r.KeepIPVS {
		if err := r.ipvs.Flush(ctx); err != nil {
			r.log.Error("lvs_flush_onstop", "err", err)
			return
		}
		r.log.Info("ipvs flushed (lvs_flush_onstop)")
		r.managed = managedSet{}
	}
}
