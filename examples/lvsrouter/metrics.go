package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/lvskit/lvskit/ipvs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsCollector publishes the router's state on every scrape: per VRRP
// instance the names keepalived exporters publish (keepalived_vrrp_state,
// keepalived_advert_rcvd_total, keepalived_become_master_total ...,
// labelled iname, intf, vrid), per real server its check state and
// transitions, and per IPVS service and destination the kernel's
// connection, packet and byte counters. IPVS is read only when the router
// has virtual services (never under -P).
type metricsCollector struct {
	ops *opsState
}

var (
	vrrpLabels  = []string{"iname", "intf", "vrid"}
	vrrpState   = prometheus.NewDesc("keepalived_vrrp_state", "VRRP instance state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT (keepalived's numbers).", vrrpLabels, nil)
	vrrpCounter = map[string]func(c vrrpCounters) uint64{
		"advert_rcvd":         func(c vrrpCounters) uint64 { return c.AdvertRcvd },
		"advert_sent":         func(c vrrpCounters) uint64 { return c.AdvertSent },
		"become_master":       func(c vrrpCounters) uint64 { return c.BecomeMaster },
		"release_master":      func(c vrrpCounters) uint64 { return c.ReleaseMaster },
		"packet_len_err":      func(c vrrpCounters) uint64 { return c.PacketLenErr },
		"advert_interval_err": func(c vrrpCounters) uint64 { return c.AdvertIntervalErr },
		"ip_ttl_err":          func(c vrrpCounters) uint64 { return c.IPTTLErr },
		"invalid_type_rcvd":   func(c vrrpCounters) uint64 { return c.InvalidTypeRcvd },
		"addr_list_err":       func(c vrrpCounters) uint64 { return c.AddrListErr },
		"invalid_authtype":    func(c vrrpCounters) uint64 { return c.InvalidAuthtype },
		"authtype_mismatch":   func(c vrrpCounters) uint64 { return c.AuthtypeMismatch },
		"auth_failure":        func(c vrrpCounters) uint64 { return c.AuthFailure },
		"pri_zero_rcvd":       func(c vrrpCounters) uint64 { return c.PriZeroRcvd },
		"pri_zero_sent":       func(c vrrpCounters) uint64 { return c.PriZeroSent },
	}
	vrrpCounterDesc = func() map[string]*prometheus.Desc {
		m := map[string]*prometheus.Desc{}
		for k := range vrrpCounter {
			m[k] = prometheus.NewDesc("keepalived_"+k+"_total", "keepalived's VRRP statistic "+k+".", vrrpLabels, nil)
		}
		return m
	}()
	rsUp          = prometheus.NewDesc("lvsrouter_real_server_up", "1 while a real server's checks pass.", []string{"service", "real"}, nil)
	rsTransitions = prometheus.NewDesc("lvsrouter_real_server_transitions_total", "Real server health changes.", []string{"service", "real"}, nil)
	bgpAnnounced  = prometheus.NewDesc("lvsrouter_bgp_announced", "1 while a VIP is announced with BGP (--bgp).", []string{"prefix"}, nil)
	vsQuorum      = prometheus.NewDesc("lvsrouter_virtual_server_quorum", "1 while a virtual server has quorum.", []string{"service"}, nil)
	ipvsLabels    = []string{"service"}
	ipvsDestLabel = []string{"service", "real"}
	ipvsStat      = map[string]func(s ipvs.Stats) uint64{
		"connections": func(s ipvs.Stats) uint64 { return s.Conns },
		"in_packets":  func(s ipvs.Stats) uint64 { return s.InPkts },
		"out_packets": func(s ipvs.Stats) uint64 { return s.OutPkts },
		"in_bytes":    func(s ipvs.Stats) uint64 { return s.InBytes },
		"out_bytes":   func(s ipvs.Stats) uint64 { return s.OutBytes },
	}
	ipvsSvcDesc, ipvsDestDesc = func() (map[string]*prometheus.Desc, map[string]*prometheus.Desc) {
		s, d := map[string]*prometheus.Desc{}, map[string]*prometheus.Desc{}
		for k := range ipvsStat {
			s[k] = prometheus.NewDesc("lvsrouter_ipvs_service_"+k+"_total", "IPVS service "+k+", read from the kernel.", ipvsLabels, nil)
			d[k] = prometheus.NewDesc("lvsrouter_ipvs_destination_"+k+"_total", "IPVS destination "+k+", read from the kernel.", ipvsDestLabel, nil)
		}
		return s, d
	}()
	ipvsUp = prometheus.NewDesc("lvsrouter_ipvs_up", "1 when the last read of IPVS succeeded.", nil, nil)
)

// Describe sends nothing: the collector is unchecked (its series follow
// the configuration).
func (m *metricsCollector) Describe(chan<- *prometheus.Desc) {}

// Collect reads the state at scrape time.
func (m *metricsCollector) Collect(ch chan<- prometheus.Metric) {
	o := m.ops
	o.mu.Lock()
	for _, oi := range o.sorted() {
		labels := []string{oi.cfg.Name, oi.cfg.Interface, fmt.Sprint(oi.cfg.VRID)}
		state := uint64(0)
		if oi.in != nil {
			state = stateNumber(oi.in.State())
		}
		ch <- prometheus.MustNewConstMetric(vrrpState, prometheus.GaugeValue, float64(state), labels...)
		c := oi.counters()
		for k, f := range vrrpCounter {
			ch <- prometheus.MustNewConstMetric(vrrpCounterDesc[k], prometheus.CounterValue, float64(f(c)), labels...)
		}
	}
	for k, st := range o.reals.all() {
		labels := []string{vsString(k.Service), trio(k.Dest, k.Service.Protocol)}
		ch <- prometheus.MustNewConstMetric(rsUp, prometheus.GaugeValue, float64(b2u(st.up)), labels...)
		ch <- prometheus.MustNewConstMetric(rsTransitions, prometheus.CounterValue, float64(st.transitions), labels...)
	}
	for k, up := range o.reals.services() {
		ch <- prometheus.MustNewConstMetric(vsQuorum, prometheus.GaugeValue, float64(b2u(up)), vsString(k))
	}
	for p, on := range o.bgp {
		ch <- prometheus.MustNewConstMetric(bgpAnnounced, prometheus.GaugeValue, float64(b2u(on)), p.String())
	}
	ours := make(map[ipvs.ServiceKey]bool, len(o.reals.ids))
	for k := range o.reals.services() {
		ours[k] = true
	}
	o.mu.Unlock()
	if len(ours) > 0 {
		m.collectIPVS(ch, ours)
	}
}

// collectIPVS reads every service and destination's counters from the
// kernel.
func (m *metricsCollector) collectIPVS(ch chan<- prometheus.Metric, ours map[ipvs.ServiceKey]bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := ipvs.Dial(ctx, nil)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(ipvsUp, prometheus.GaugeValue, 0)
		return
	}
	defer c.Close()
	svcs, err := c.Dump(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(ipvsUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(ipvsUp, prometheus.GaugeValue, 1)
	for _, s := range svcs {
		if !ours[s.Key()] {
			continue // not the router's
		}
		name := vsString(s.Key())
		for k, f := range ipvsStat {
			ch <- prometheus.MustNewConstMetric(ipvsSvcDesc[k], prometheus.CounterValue, float64(f(s.Stats)), name)
		}
		for _, d := range s.Destinations {
			real := trio(d.Addr, s.Protocol)
			for k, f := range ipvsStat {
				ch <- prometheus.MustNewConstMetric(ipvsDestDesc[k], prometheus.CounterValue, float64(f(d.Stats)), name, real)
			}
		}
	}
}

// serveMetrics serves /metrics on addr until ctx ends (--metrics-addr).
func serveMetrics(ctx context.Context, addr string, o *opsState, log *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(&metricsCollector{ops: o}); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
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
