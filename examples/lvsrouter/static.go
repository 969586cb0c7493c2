package main

import (
	"context"
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := vrrp.SetStatic(ctx, &vrrp.StaticConfig{Logger: r.log}, o, n); err != nil {
		r.log.Error("static addresses, routes and rules", "err", err)
	}
}

func isEmptyStatic(s *vrrp.Static) bool {
	return s == nil || len(s.Addrs)+len(s.Routes)+len(s.Rules) == 0
}
