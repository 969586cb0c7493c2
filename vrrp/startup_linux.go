package vrrp

import (
	"context"
	"time"
)

// startupDelay waits out RouterConfig.StartupDelay; false means ctx ended
// first and Run returns without having started anything.
func (r *Router) startupDelay(ctx context.Context) bool {
	if r.cfg.StartupDelay <= 0 {
		return true
	}
	r.log.Info("vrrp: delaying startup", "delay", r.cfg.StartupDelay)
	t := time.NewTimer(r.cfg.StartupDelay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
