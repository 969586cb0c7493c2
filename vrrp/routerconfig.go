package vrrp

import (
	"log/slog"
	"time"
)

// RouterConfig configures a Router.
type RouterConfig struct {
	// NetNS is the path of the network namespace to work in (for example
	// /run/netns/blue); empty means the process's own.
	NetNS string
	// Logger receives state changes and errors (default: discard).
	Logger *slog.Logger
	// ScriptSecurity refuses to run a track or notify script as root when
	// it or a directory on its path is writable by a non-root user
	// (keepalived's enable_script_security): a refused track script
	// counts as failed, and every refusal is logged with its reason.
	ScriptSecurity bool
	// StartupDelay keeps every instance in INIT this long after Run
	// starts, before it opens its sockets and takes part in elections
	// (keepalived's vrrp_startup_delay, for hosts whose network comes up
	// late after a boot).
	StartupDelay time.Duration
}

// withDefaults returns a copy of cfg (nil: the zero value) and the logger
// to use (nil: discard).
func (cfg *RouterConfig) withDefaults() (RouterConfig, *slog.Logger) {
	return copyConfig(cfg, func(c *RouterConfig) *slog.Logger { return c.Logger })
}

// copyConfig returns a copy of cfg (nil: the zero value) and the logger
// its Logger field names (nil: one that discards), for every Config of
// the package.
func copyConfig[T any](cfg *T, logger func(*T) *slog.Logger) (T, *slog.Logger) {
	var c T
	if cfg != nil {
		c = *cfg
	}
	log := logger(&c)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return c, log
}
