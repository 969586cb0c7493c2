package main

import (
	"context"
	"log/slog"
	"reflect"
	"time"

	"github.com/lvskit/lvskit/vrrp"
)

// syncStatic moves the static addresses, routes and rules from old's to
// next's (either may be nil: start and stop), as keepalived does: set at
// start, only the differences on reload, all removed on stop. Failures
// are logged: keepalived runs on without the entry too.
func (r *Router) syncStatic(old, next *Plan) {
	var o, n *vrrp.Static
	if old != nil {
		o = &old.Static
	}
	if next != nil {
		n = &next.Static
	}
	if isEmptyStatic(o) && isEmptyStatic(n) {
		return
	}
	if o != nil && n != nil && r.keeper.running() && sameStatic(o, n) {
		// Nothing to move, and the keeper already watches exactly
		// these entries: restarting it would leave a moment in which
		// a deletion goes unseen.
		return
	}
	// The keeper of the old entries stops first, so that the entries
	// SetStatic removes are not restored.
	r.keeper.stop()
	cfg := &vrrp.StaticConfig{Logger: r.log}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := vrrp.SetStatic(ctx, cfg, o, n); err != nil {
		r.log.Error("static addresses, routes and rules", "err", err)
	}
	if !isEmptyStatic(n) {
		r.keeper.start(cfg, n, r.log)
	}
}

// staticKeeper restores the tracked static entries someone deletes, as
// keepalived does ("Restoring deleted static route ..."), between one
// syncStatic and the next.
type staticKeeper struct {
	cancel context.CancelFunc
	done   <-chan struct{}
}

func (k *staticKeeper) start(cfg *vrrp.StaticConfig, s *vrrp.Static, log *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	done, err := vrrp.KeepStatic(ctx, cfg, s)
	if err != nil {
		cancel()
		log.Error("watching static addresses, routes and rules", "err", err)
		return
	}
	k.cancel, k.done = cancel, done
	log.Info("static entries watched", "addresses", len(s.Addrs), "routes", len(s.Routes), "rules", len(s.Rules))
}

func (k *staticKeeper) running() bool { return k.cancel != nil }

func (k *staticKeeper) stop() {
	if k.cancel != nil {
		k.cancel()
		<-k.done
		k.cancel, k.done = nil, nil
	}
}

// sameStatic reports whether two plans' static entries are the same
// entries in the same order.
func sameStatic(a, b *vrrp.Static) bool { return reflect.DeepEqual(a, b) }

func isEmptyStatic(s *vrrp.Static) bool {
	return s == nil || len(s.Addrs)+len(s.Routes)+len(s.Rules) == 0
}
