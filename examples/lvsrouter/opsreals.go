package main

import (
	"iter"
	"net/netip"

	"github.com/lvskit/lvskit/ipvs"
)

// opsReals is what opsState remembers of every virtual and real server:
// a service's quorum and a real server's health as last applied, and how
// often the real server's changed, for the notify FIFOs, the metrics and
// the status socket. At 40,000 real servers a map keyed by realKey (80
// bytes, a service key and an address, both with pointers) held 6.5 MB;
// here each service key is stored once, with its quorum, and a real
// server's entry is 12 bytes of key (an IPv4 address, m4) or 24 (m) and 8
// of state without a pointer, which the collector does not trace: at
// 40,000 IPv4 real servers m4 holds 1.4 MB where m held 2.6. An address
// with a zone, which the compact keys cannot hold, goes to a map of its
// own.
type opsReals struct {
	ids   map[ipvs.ServiceKey]opsService
	keys  []ipvs.ServiceKey // by id
	m4    map[realSlot4]realStatus
	m     map[realSlot]realStatus
	zoned map[realKey]realStatus
}

// opsService is a service's number for its real servers' keys, and its
// quorum as last reported (reported: there is one).
type opsService struct {
	id       uint32
	quorum   bool
	reported bool
}

// realSlot names a real server of the service numbered svc.
type realSlot struct {
	svc  uint32
	port uint16
	is4  bool
	addr [16]byte
}

// realSlot4 names an IPv4 real server (netip.Addr.Is4) of the service
// numbered svc.
type realSlot4 struct {
	svc  uint32
	addr [4]byte
	port uint16
}

// realStatus is a real server's last applied health.
type realStatus struct {
	up          bool
	transitions uint32
}

// reserve sizes the maps for n4 IPv4 and n other real servers, of
// services real servers in all, when they are empty.
func (o *opsReals) reserve(n4, n, services int) {
	if len(o.m4) == 0 && n4 > 0 {
		o.m4 = make(map[realSlot4]realStatus, n4)
	}
	if len(o.m) == 0 && n > 0 {
		o.m = make(map[realSlot]realStatus, n)
	}
	if len(o.ids) == 0 {
		o.ids = make(map[ipvs.ServiceKey]opsService, services)
		// numbered in order from here: one array, not a dozen doublings
		o.keys = make([]ipvs.ServiceKey, 0, services)
	}
}

// slot returns the compact key of (k, rs), adding k's number if new; ok
// is false for an address with a zone.
func (o *opsReals) slot(k ipvs.ServiceKey, rs netip.AddrPort) (realSlot, bool) {
	a := rs.Addr()
	if a.Zone() != "" {
		return realSlot{}, false
	}
	return o.slotOf(o.service(k).id, rs)
}

// serviceID returns k's number, numbering k if new.
func (o *opsReals) serviceID(k ipvs.ServiceKey) uint32 { return o.service(k).id }

// slotOf is slot for the service numbered svc.
func (o *opsReals) slotOf(svc uint32, rs netip.AddrPort) (realSlot, bool) {
	a := rs.Addr()
	if a.Zone() != "" {
		return realSlot{}, false
	}
	return realSlot{svc: svc, port: rs.Port(), is4: a.Is4(), addr: a.As16()}, true
}

// setSlot records the state of the real server at s.
func (o *opsReals) setSlot(s realSlot, st realStatus) {
	if s.is4 {
		if o.m4 == nil {
			o.m4 = map[realSlot4]realStatus{}
		}
		o.m4[s.v4()] = st
		return
	}
	if o.m == nil {
		o.m = map[realSlot]realStatus{}
	}
	o.m[s] = st
}

// service returns k's entry, numbering k if new.
func (o *opsReals) service(k ipvs.ServiceKey) opsService {
	if o.ids == nil {
		o.ids = map[ipvs.ServiceKey]opsService{}
	}
	s, ok := o.ids[k]
	if !ok {
		s = opsService{id: uint32(len(o.keys))}
		o.ids[k] = s
		o.keys = append(o.keys, k)
	}
	return s
}

// setQuorum records k's quorum and returns the one reported before, if
// any.
func (o *opsReals) setQuorum(k ipvs.ServiceKey, up bool) (was, seen bool) {
	s := o.service(k)
	was, seen = s.quorum, s.reported
	s.quorum, s.reported = up, true
	o.ids[k] = s
	return was, seen
}

// services yields every service with a reported quorum, in no order.
func (o *opsReals) services() iter.Seq2[ipvs.ServiceKey, bool] {
	return func(yield func(ipvs.ServiceKey, bool) bool) {
		for k, s := range o.ids {
			if s.reported && !yield(k, s.quorum) {
				return
			}
		}
	}
}

// getSlot returns the state of the real server at s and whether there is
// one.
func (o *opsReals) getSlot(s realSlot) (realStatus, bool) {
	if s.is4 {
		st, seen := o.m4[s.v4()]
		return st, seen
	}
	st, seen := o.m[s]
	return st, seen
}

// v4 is s's key in m4; s.is4 must be set.
func (s realSlot) v4() realSlot4 {
	return realSlot4{svc: s.svc, addr: [4]byte(s.addr[12:]), port: s.port}
}

// set records the state of (k, rs).
func (o *opsReals) set(k ipvs.ServiceKey, rs netip.AddrPort, st realStatus) {
	s, ok := o.slot(k, rs)
	if !ok {
		if o.zoned == nil {
			o.zoned = map[realKey]realStatus{}
		}
		o.zoned[realKey{k, rs}] = st
		return
	}
	o.setSlot(s, st)
}

// all yields every real server with its state, in no order.
func (o *opsReals) all() iter.Seq2[realKey, realStatus] {
	return func(yield func(realKey, realStatus) bool) {
		for s, st := range o.m4 {
			if !yield(realKey{o.keys[s.svc], netip.AddrPortFrom(netip.AddrFrom4(s.addr), s.port)}, st) {
				return
			}
		}
		for s, st := range o.m { // no IPv4 address: those are in m4
			if !yield(realKey{o.keys[s.svc], netip.AddrPortFrom(netip.AddrFrom16(s.addr), s.port)}, st) {
				return
			}
		}
		for k, st := range o.zoned {
			if !yield(k, st) {
				return
			}
		}
	}
}
