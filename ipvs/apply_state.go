package ipvs

import (
	"net/netip"
	"time"
)

// What an Applier remembers of the services it applied. At 10,000
// services × 4 destinations a copy of each Destination (160 bytes, most of
// them counters that writes ignore) held 6.4 MB for as long as the Applier
// lived, and the pointers in each netip.Addr made the collector trace all of
// it. A knownDest keeps what a write sets, in 40 bytes without a pointer;
// a service whose destinations it cannot hold that way (an address with a
// zone, which the wire does not carry but Diff compares) keeps full copies.

// knownService is a service as last applied: its settings, its
// destinations, and configSum of both.
type knownService struct {
	svc   knownSettings
	dests []knownDest   // nil when wide is set
	wide  []Destination // full copies, for destinations knownDest cannot hold
	sum   uint64
	live  bool // false: deleted
}

// knownSettings is a Service without its statistics and destinations,
// its identity kept as its key (which the diff asks for at every
// service): 104 bytes instead of 208.
type knownSettings struct {
	key       ServiceKey
	scheduler string
	pe        string
	timeout   time.Duration
	flags     ServiceFlags
	netmask   uint32
}

func settingsOf(s *Service) knownSettings {
	return knownSettings{
		key: s.Key(), scheduler: s.Scheduler, pe: s.PersistenceEngine, timeout: s.Timeout,
		flags: s.Flags, netmask: s.Netmask,
	}
}

// service returns the settings as a Service without destinations; its
// identity is the key's (the family filled in).
func (s *knownSettings) service() Service {
	return Service{
		Family: s.key.Family, Protocol: s.key.Protocol, Addr: s.key.Addr, FWMark: s.key.FWMark,
		Scheduler: s.scheduler, Flags: s.flags, Timeout: s.timeout, Netmask: s.netmask,
		PersistenceEngine: s.pe,
	}
}

// knownDest is what UpdateDestination can change of a destination, and its
// address.
type knownDest struct {
	addr     [16]byte
	port     uint16
	is4      bool
	tunType  TunnelType
	forward  ForwardMethod
	weight   int32
	upper    uint32
	lower    uint32
	tunPort  uint16
	tunFlags TunnelFlags
}

// compactable reports whether d fits a knownDest.
func compactable(d *Destination) bool {
	a := d.Addr.Addr()
	return a.Zone() == "" && int64(d.Weight) == int64(int32(d.Weight))
}

func compactDest(d *Destination) knownDest {
	a := d.Addr.Addr()
	return knownDest{
		addr: a.As16(), port: d.Addr.Port(), is4: a.Is4(),
		tunType: d.TunnelType, forward: d.Forward, weight: int32(d.Weight),
		upper: d.UpperThreshold, lower: d.LowerThreshold,
		tunPort: d.TunnelPort, tunFlags: d.TunnelFlags,
	}
}

// destination returns k as a Destination without counters.
func (k *knownDest) destination() Destination {
	a := netip.AddrFrom16(k.addr)
	if k.is4 {
		a = a.Unmap()
	}
	return Destination{
		Addr: netip.AddrPortFrom(a, k.port), Forward: k.forward, Weight: int(k.weight),
		UpperThreshold: k.upper, LowerThreshold: k.lower,
		TunnelType: k.tunType, TunnelPort: k.tunPort, TunnelFlags: k.tunFlags,
	}
}

// setKnown makes k a copy of s, its destinations cut from *dests (which
// grows as needed) when they all fit a knownDest.
func setKnown(k *knownService, s *Service, dests *[]knownDest) {
	k.svc = settingsOf(s)
	k.sum = configSum(s)
	k.live = true
	k.dests, k.wide = nil, nil
	for i := range s.Destinations {
		if !compactable(&s.Destinations[i]) {
			k.wide = make([]Destination, len(s.Destinations))
			for j := range s.Destinations {
				k.wide[j] = destConfig(&s.Destinations[j])
			}
			return
		}
	}
	start := len(*dests)
	for i := range s.Destinations {
		*dests = append(*dests, compactDest(&s.Destinations[i]))
	}
	k.dests = (*dests)[start:len(*dests):len(*dests)]
}

// service returns k as a Service in *out, its destinations in *buf (both
// reused from call to call).
func (k *knownService) service(buf *[]Destination, out *Service) *Service {
	*out = k.svc.service()
	if k.wide != nil {
		out.Destinations = k.wide
		return out
	}
	d := (*buf)[:0]
	for i := range k.dests {
		d = append(d, k.dests[i].destination())
	}
	*buf = d
	out.Destinations = d
	return out
}

// view is the current state diffIndexed reads: a dump (Diff) or an
// Applier's memory.
type view interface {
	len() int
	live(j int) bool
	key(j int) ServiceKey
	// sum returns service j's configSum, when known.
	sum(j int) (uint64, bool)
	// service returns service j, valid until the next call.
	service(j int) *Service
}

// dumpView is a view of services as given.
type dumpView []Service

func (v dumpView) len() int                 { return len(v) }
func (v dumpView) live(int) bool            { return true }
func (v dumpView) key(j int) ServiceKey     { return v[j].Key() }
func (v dumpView) sum(int) (uint64, bool)   { return 0, false }
func (v dumpView) service(j int) *Service   { return &v[j] }
func (a *Applier) len() int                 { return len(a.known) }
func (a *Applier) live(j int) bool          { return a.known[j].live }
func (a *Applier) key(j int) ServiceKey     { return a.known[j].svc.key }
func (a *Applier) sum(j int) (uint64, bool) { return a.known[j].sum, true }
func (a *Applier) service(j int) *Service   { return a.known[j].service(&a.buf, &a.cur) }
