package ipvs

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"
	"unsafe"
)

// TestDestinationSettingsRoundTrip: settings and a destination convert
// into each other with every written field kept and the counters dropped,
// in less than half a Destination's size.
func TestDestinationSettingsRoundTrip(t *testing.T) {
	d := Destination{Addr: netip.MustParseAddrPort("[2001:db8::7]:443"), Forward: Tunnel, Weight: 3,
		UpperThreshold: 100, LowerThreshold: 10, TunnelType: TunnelGUE, TunnelPort: 6080, TunnelFlags: 1,
		ActiveConns: 5, Stats: Stats{Conns: 9}}
	s := d.Settings()
	got := s.Destination()
	want := destConfig(&d)
	if got != want {
		t.Errorf("round trip: got %+v, want %+v", got, want)
	}
	if a, b := unsafe.Sizeof(s), unsafe.Sizeof(d); a > 64 || a*2 > b {
		t.Errorf("DestinationSettings takes %d bytes, Destination %d", a, b)
	}
	s.Weight = -1
	if err := s.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Validate(weight -1) = %v, want ErrInvalid", err)
	}
}

// TestServiceSettingsRoundTrip: settings and a service convert into each
// other with every written field kept and the statistics and
// destinations dropped, in less than half a Service's size; a field added
// to Service must be added to ServiceSettings too.
func TestServiceSettingsRoundTrip(t *testing.T) {
	sv := Service{Family: IPv6, Protocol: SCTP, Addr: netip.MustParseAddrPort("[2001:db8::1]:443"),
		Scheduler: "sh", Flags: FlagPersistent | FlagSHPort, Timeout: 300 * time.Second, Netmask: 64,
		PersistenceEngine: "sip", Stats: Stats{Conns: 9},
		Destinations: []Destination{{Addr: netip.MustParseAddrPort("[2001:db8::7]:443")}}}
	s := sv.Settings()
	got := s.Service()
	want := sv
	want.Stats, want.Destinations = Stats{}, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip: got %+v, want %+v", got, want)
	}
	if s.Key() != sv.Key() || s.String() != sv.String() {
		t.Errorf("key %v %q, want %v %q", s.Key(), s.String(), sv.Key(), sv.String())
	}
	if a, b := unsafe.Sizeof(s), unsafe.Sizeof(sv); a > 88 || a*2 > b {
		t.Errorf("ServiceSettings takes %d bytes, Service %d", a, b)
	}
	st := reflect.TypeFor[ServiceSettings]()
	for f := range reflect.TypeFor[Service]().Fields() {
		if f.Name == "Stats" || f.Name == "Destinations" {
			continue
		}
		if g, ok := st.FieldByName(f.Name); !ok || g.Type != f.Type {
			t.Errorf("ServiceSettings lacks Service's field %s %v", f.Name, f.Type)
		}
	}
	s.Scheduler, s.FWMark = "", 7 // a firewall mark with an address
	if err := s.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Validate(fwmark and address) = %v, want ErrInvalid", err)
	}
}
