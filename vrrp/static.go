package vrrp

import (
	"errors"
	"fmt"
	"log/slog"
)

// Static is what stays configured while a router runs, whatever the state
// of its instances: keepalived's static_ipaddress, static_routes and
// static_rules. SetStatic puts it in place and takes it away.
type Static struct {
	// Addrs are addresses; each names its interface in Dev.
	Addrs []VIP `json:",omitempty"`
	// Routes name their interface in Dev unless they have a gateway (the
	// kernel then finds it) or need none (blackhole and the like).
	Routes []Route `json:",omitempty"`
	// Rules with neither From nor To are IPv4 rules.
	Rules []Rule `json:",omitempty"`
}

// StaticConfig says where SetStatic works. The zero value works: the
// caller's namespace, no logging.
type StaticConfig struct {
	// NetNS is the path of the network namespace (empty: the caller's).
	NetNS string
	// Logger, when set, logs each entry added or removed.
	Logger *slog.Logger
}

// withDefaults returns a copy of cfg (nil: the zero value) and the logger
// to use (nil: discard).
func (cfg *StaticConfig) withDefaults() (StaticConfig, *slog.Logger) {
	return copyConfig(cfg, func(c *StaticConfig) *slog.Logger { return c.Logger })
}

// Validate reports every entry SetStatic could not apply whatever the
// host: addresses without an interface, invalid prefixes, rules without a
// table. The errors are joined; each names its field (a *ConfigError).
func (s *Static) Validate() error {
	var errs []error
	bad := func(field, f string, a ...any) {
		errs = append(errs, &ConfigError{Instance: "static", Field: field, Msg: fmt.Sprintf(f, a...)})
	}
	for i, v := range s.Addrs {
		switch {
		case !v.Prefix.IsValid():
			bad(fmt.Sprintf("Addrs[%d]", i), "invalid address")
		case v.Dev == "":
			bad(fmt.Sprintf("Addrs[%d].Dev", i), "%v: needs an interface", v.Prefix)
		}
	}
	for i, r := range s.Routes {
		switch {
		case !r.Dst.IsValid() || (r.Gw.IsValid() && r.Gw.Is6() != r.Dst.Addr().Is6()) || (r.Src.IsValid() && r.Src.Is6() != r.Dst.Addr().Is6()):
			bad(fmt.Sprintf("Routes[%d]", i), "destination %v, gateway %v, source %v", r.Dst, r.Gw, r.Src)
		case r.Dev == "" && !r.Gw.IsValid() && routeNeedsDev(r.Type):
			bad(fmt.Sprintf("Routes[%d].Dev", i), "%v: needs an interface or a gateway", r.Dst)
		}
	}
	for i, r := range s.Rules {
		if r.Table <= 0 || (r.From.IsValid() && r.To.IsValid() && r.From.Addr().Is6() != r.To.Addr().Is6()) {
			bad(fmt.Sprintf("Rules[%d]", i), "needs a table, and From and To of one family")
		}
	}
	return errors.Join(errs...)
}

// staticDiff returns what old has and next lacks.
func staticDiff(old, next *Static) Static {
	if old == nil {
		return Static{}
	}
	if next == nil {
		return *old
	}
	return Static{Addrs: diff(old.Addrs, next.Addrs), Routes: diff(old.Routes, next.Routes), Rules: diff(old.Rules, next.Rules)}
}
