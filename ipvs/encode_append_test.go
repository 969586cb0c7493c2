package ipvs

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
)

// encoderServiceAttrs and encoderDestAttrs are the netlink.AttributeEncoder
// versions the append encoders replace: the reference they must match.
func encoderServiceAttrs(t *testing.T, s *Service) []byte {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error {
		encodeService(nae, s)
		return nil
	})
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func encoderDestAttrs(t *testing.T, s *Service, d *Destination, full bool) []byte {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error {
		encodeServiceID(nae, s)
		return nil
	})
	ae.Nested(cmdAttrDest, func(nae *netlink.AttributeEncoder) error {
		if full {
			encodeDest(nae, d)
		} else {
			encodeDestID(nae, d)
		}
		return nil
	})
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAppendEncodersMatch(t *testing.T) {
	services := []Service{
		{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80")},
		{Protocol: UDP, Addr: netip.MustParseAddrPort("[2001:db8::1]:53"), Scheduler: "mh", Flags: FlagPersistent | FlagHashed, Timeout: 300 * time.Second, Netmask: 64},
		{Protocol: SCTP, Addr: netip.MustParseAddrPort("192.0.2.7:5060"), Scheduler: "rr", PersistenceEngine: "sip", Flags: FlagPersistent, Timeout: 7 * time.Second, Netmask: 0xffffff00},
		{FWMark: 12},
		{FWMark: 13, Family: IPv6, Scheduler: "sh"},
		{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80"), Scheduler: "lblcr"},
	}
	dests := []Destination{
		{Addr: netip.MustParseAddrPort("10.1.0.1:8080"), Forward: Masquerade, Weight: 3},
		{Addr: netip.MustParseAddrPort("[2001:db8::9]:80"), Forward: Route, Weight: 0, UpperThreshold: 100, LowerThreshold: 10},
		{Addr: netip.MustParseAddrPort("192.0.2.9:0"), Forward: Tunnel, Weight: 65535, TunnelType: 1, TunnelPort: 6080, TunnelFlags: 3},
	}
	for i := range services {
		s := &services[i]
		if got, want := appendServiceAttrs(nil, s), encoderServiceAttrs(t, s); !bytes.Equal(got, want) {
			t.Errorf("service %v:\n got % x\nwant % x", s.Key(), got, want)
		}
		for j := range dests {
			d := &dests[j]
			for _, full := range []bool{true, false} {
				if got, want := appendDestAttrs(nil, s, d, full), encoderDestAttrs(t, s, d, full); !bytes.Equal(got, want) {
					t.Errorf("service %v dest %v full=%v:\n got % x\nwant % x", s.Key(), d.Addr, full, got, want)
				}
			}
		}
	}
}
