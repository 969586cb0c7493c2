package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/lvskit/lvskit/examples/lvsrouter/internal/promtext"
	"github.com/lvskit/lvskit/ipvs"
)

// metricsCollector publishes the router's state on every scrape: per VRRP
// instance the names keepalived exporters publish (keepalived_vrrp_state,
// keepalived_advert_rcvd_total, keepalived_become_master_total ...,
// labelled iname, intf, vrid), per real server its check state and
// transitions, and per IPVS service and destination the kernel's
// connection, packet and byte counters. IPVS is read only when the router
// has virtual services (never under -P). The text is written by
// internal/promtext, as client_golang would write it.
type metricsCollector struct {
	ops *opsState
}

var (
	vrrpLabels  = []string{"iname", "intf", "vrid"}
	vrrpCounter = []struct {
		name string
		get  func(c vrrpCounters) uint64
	}{
		{"advert_rcvd", func(c vrrpCounters) uint64 { return c.AdvertRcvd }},
		{"advert_sent", func(c vrrpCounters) uint64 { return c.AdvertSent }},
		{"become_master", func(c vrrpCounters) uint64 { return c.BecomeMaster }},
		{"release_master", func(c vrrpCounters) uint64 { return c.ReleaseMaster }},
		{"packet_len_err", func(c vrrpCounters) uint64 { return c.PacketLenErr }},
		{"advert_interval_err", func(c vrrpCounters) uint64 { return c.AdvertIntervalErr }},
		{"ip_ttl_err", func(c vrrpCounters) uint64 { return c.IPTTLErr }},
		{"invalid_type_rcvd", func(c vrrpCounters) uint64 { return c.InvalidTypeRcvd }},
		{"addr_list_err", func(c vrrpCounters) uint64 { return c.AddrListErr }},
		{"invalid_authtype", func(c vrrpCounters) uint64 { return c.InvalidAuthtype }},
		{"authtype_mismatch", func(c vrrpCounters) uint64 { return c.AuthtypeMismatch }},
		{"auth_failure", func(c vrrpCounters) uint64 { return c.AuthFailure }},
		{"pri_zero_rcvd", func(c vrrpCounters) uint64 { return c.PriZeroRcvd }},
		{"pri_zero_sent", func(c vrrpCounters) uint64 { return c.PriZeroSent }},
	}
	ipvsStat = []struct {
		name string
		get  func(s ipvs.Stats) uint64
	}{
		{"connections", func(s ipvs.Stats) uint64 { return s.Conns }},
		{"in_packets", func(s ipvs.Stats) uint64 { return s.InPkts }},
		{"out_packets", func(s ipvs.Stats) uint64 { return s.OutPkts }},
		{"in_bytes", func(s ipvs.Stats) uint64 { return s.InBytes }},
		{"out_bytes", func(s ipvs.Stats) uint64 { return s.OutBytes }},
	}
)

// gather adds the state at scrape time to s.
func (m *metricsCollector) gather(s *promtext.Set) {
	o := m.ops
	state := s.Family("keepalived_vrrp_state", "VRRP instance state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT (keepalived's numbers).", promtext.Gauge, vrrpLabels...)
	counters := make([]*promtext.Family, len(vrrpCounter))
	for i, c := range vrrpCounter {
		counters[i] = s.Family("keepalived_"+c.name+"_total", "keepalived's VRRP statistic "+c.name+".", promtext.Counter, vrrpLabels...)
	}
	rsUp := s.Family("lvsrouter_real_server_up", "1 while a real server's checks pass.", promtext.Gauge, "service", "real")
	rsTransitions := s.Family("lvsrouter_real_server_transitions_total", "Real server health changes.", promtext.Counter, "service", "real")
	vsQuorum := s.Family("lvsrouter_virtual_server_quorum", "1 while a virtual server has quorum.", promtext.Gauge, "service")
	bgpAnnounced := s.Family("lvsrouter_bgp_announced", "1 while a VIP is announced with BGP (--bgp).", promtext.Gauge, "prefix")
	o.mu.Lock()
	for _, oi := range o.sorted() {
		labels := []string{oi.cfg.Name, oi.cfg.Interface, strconv.Itoa(int(oi.cfg.VRID))}
		st := uint64(0)
		if oi.in != nil {
			st = stateNumber(oi.in.State())
		}
		state.Add(float64(st), labels...)
		c := oi.counters()
		for i, vc := range vrrpCounter {
			counters[i].Add(float64(vc.get(c)), labels...)
		}
	}
	for k, st := range o.reals.all() {
		labels := []string{vsString(k.Service), trio(k.Dest, k.Service.Protocol)}
		rsUp.Add(float64(b2u(st.up)), labels...)
		rsTransitions.Add(float64(st.transitions), labels...)
	}
	for k, up := range o.reals.services() {
		vsQuorum.Add(float64(b2u(up)), vsString(k))
	}
	for p, on := range o.bgp {
		bgpAnnounced.Add(float64(b2u(on)), p.String())
	}
	ours := make(map[ipvs.ServiceKey]bool, len(o.reals.quorum)+len(o.reals.goneSvc))
	for k := range o.reals.services() {
		ours[k] = true
	}
	o.mu.Unlock()
	if len(ours) > 0 {
		m.gatherIPVS(s, ours)
	}
}

// gatherIPVS reads every service and destination's counters from the
// kernel.
func (m *metricsCollector) gatherIPVS(s *promtext.Set, ours map[ipvs.ServiceKey]bool) {
	up := s.Family("lvsrouter_ipvs_up", "1 when the last read of IPVS succeeded.", promtext.Gauge)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := ipvs.Dial(ctx, nil)
	if err != nil {
		up.Add(0)
		return
	}
	defer c.Close()
	svcs, err := c.Dump(ctx)
	if err != nil {
		up.Add(0)
		return
	}
	up.Add(1)
	svc := make([]*promtext.Family, len(ipvsStat))
	dest := make([]*promtext.Family, len(ipvsStat))
	for i, st := range ipvsStat {
		svc[i] = s.Family("lvsrouter_ipvs_service_"+st.name+"_total", "IPVS service "+st.name+", read from the kernel.", promtext.Counter, "service")
		dest[i] = s.Family("lvsrouter_ipvs_destination_"+st.name+"_total", "IPVS destination "+st.name+", read from the kernel.", promtext.Counter, "service", "real")
	}
	for _, sv := range svcs {
		if !ours[sv.Key()] {
			continue // not the router's
		}
		name := vsString(sv.Key())
		for i, st := range ipvsStat {
			svc[i].Add(float64(st.get(sv.Stats)), name)
		}
		for _, d := range sv.Destinations {
			real := trio(d.Addr, sv.Protocol)
			for i, st := range ipvsStat {
				dest[i].Add(float64(st.get(d.Stats)), name, real)
			}
		}
	}
}

// serveMetrics serves /metrics on addr until ctx ends (--metrics-addr).
func serveMetrics(ctx context.Context, addr string, o *opsState, log *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promtext.Handler((&metricsCollector{ops: o}).gather))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics", "err", err)
		}
	}()
	stopCtx := context.AfterFunc(ctx, func() { srv.Close() })
	return func() { stopCtx(); srv.Close(); <-done }, nil
}
