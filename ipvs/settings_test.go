package ipvs

import (
	"errors"
	"net/netip"
	"testing"
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
