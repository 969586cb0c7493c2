//go:build !linux

package vrrp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Router runs VRRP instances in one network namespace. It needs Linux:
// elsewhere instances can be added (and are validated as on Linux), but
// Run returns an error wrapping errors.ErrUnsupported.
type Router struct {
	cfg       RouterConfig
	log       *slog.Logger
	instances []*Instance
	drops     DropCounters
	closed    bool
}

// Instance is one virtual router of a Router.
type Instance struct {
	cfg   Config
	group bool
	r     *Router
}

// NewRouter returns a Router; cfg nil means the defaults.
func NewRouter(cfg *RouterConfig) (*Router, error) {
	c, log := cfg.withDefaults()
	return &Router{cfg: c, log: log}, nil
}

// Close releases the Router; it is safe to call more than once.
func (r *Router) Close() error {
	r.closed = true
	return nil
}

// Add validates cfg as Router.Add does on Linux and records the instance.
func (r *Router) Add(cfg Config) (*Instance, error) {
	if r.closed {
		return nil, ErrClosed
	}
	have := make([]*Config, len(r.instances))
	for i, o := range r.instances {
		have[i] = &o.cfg
	}
	_, err := admit(&cfg, have)
	if err != nil {
		return nil, err
	}
	in := &Instance{cfg: cfg, r: r}
	r.instances = append(r.instances, in)
	return in, nil
}

// SyncGroup ties instances together (keepalived vrrp_sync_group).
func (r *Router) SyncGroup(name string, members ...*Instance) error {
	if r.closed {
		return ErrClosed
	}
	for _, m := range members {
		if m.group {
			return fmt.Errorf("vrrp: sync group %s: instance %s belongs elsewhere: %w", name, m.cfg.Name, ErrInvalid)
		}
		m.group = true
	}
	return nil
}

// Drops counts packets dropped before they reached an instance.
func (r *Router) Drops() *DropCounters { return &r.drops }

// Instances returns the instances added.
func (r *Router) Instances() []*Instance { return r.instances }

// Run needs Linux: it returns an error wrapping errors.ErrUnsupported.
func (r *Router) Run(ctx context.Context) error {
	if r.closed {
		return ErrClosed
	}
	return fmt.Errorf("vrrp: Router.Run: %w", errors.ErrUnsupported)
}

// Name returns the instance's name.
func (in *Instance) Name() string { return in.cfg.Name }

// State returns the current state: always INIT, as nothing runs.
func (in *Instance) State() State { return StateInit }

// Stats returns the instance's metrics: all zero, as nothing runs.
func (in *Instance) Stats() Stats {
	return Stats{State: StateInit, Priority: in.cfg.Priority, Drops: map[DropReason]uint64{}}
}

// Update validates cfg as Linux's Update does and, as nothing runs here,
// replaces the configuration.
func (in *Instance) Update(cfg Config) error {
	if in.r.closed {
		return ErrClosed
	}
	var have []*Config
	for _, o := range in.r.instances {
		if o != in {
			have = append(have, &o.cfg)
		}
	}
	if _, err := admit(&cfg, have); err != nil {
		return err
	}
	if err := updatable(&in.cfg, &cfg); err != nil {
		return err
	}
	in.cfg = cfg
	return nil
}
