package ipvs

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

// FuzzDecode feeds arbitrary bytes to the service, destination and reply
// decoders: they must never panic, and every failure must wrap ErrDecode.
func FuzzDecode(f *testing.F) {
	f.Add(kernelService(f, Service{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80"), Scheduler: "rr", Stats: sampleStats}))
	f.Add(kernelService(f, Service{Protocol: UDP, Addr: netip.MustParseAddrPort("[2001:db8::1]:53"), Scheduler: "sh",
		Flags: FlagPersistent | FlagSHPort, Timeout: time.Minute, Netmask: 64, PersistenceEngine: "sip"}))
	f.Add(kernelService(f, Service{Family: IPv6, FWMark: 3, Scheduler: "mh"}))
	f.Add(kernelDest(f, Destination{Addr: netip.MustParseAddrPort("10.1.0.1:80"), Weight: 2, Stats: sampleStats}))
	f.Add(kernelDest(f, Destination{Addr: netip.MustParseAddrPort("[2001:db8::2]:80"), Forward: Tunnel, TunnelType: TunnelGUE, TunnelPort: 5555}))
	f.Add([]byte{})
	f.Add([]byte{4, 0, 1, 0})
	f.Add([]byte{0xff, 0xff, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(what string, err error) {
			if err != nil && !errors.Is(err, ErrDecode) {
				t.Fatalf("%s: error %v does not wrap ErrDecode", what, err)
			}
		}
		s, err := DecodeService(b)
		check("service", err)
		if err == nil {
			// A decoded service encodes and decodes to itself.
			s2, err := DecodeService(kernelService(t, s))
			if err != nil {
				t.Fatalf("re-decode: %v", err)
			}
			if s2.Key() != s.Key() || s2.Scheduler != s.scheduler() || s2.Netmask != s.netmask() {
				t.Fatalf("round trip changed %+v into %+v", s, s2)
			}
		}
		_, err = DecodeDestination(b, IPv4)
		check("destination", err)
		_, err = DecodeDestination(b, IPv6)
		check("destination6", err)
		_, err = decodeServiceMsg(b)
		check("service message", err)
		_, err = decodeDestMsg(b, IPv4)
		check("destination message", err)
		_, err = decodeDaemonMsg(b)
		check("daemon message", err)
		_, err = decodeInfo(b)
		check("info", err)
		_, err = decodeTimeouts(b)
		check("timeouts", err)
	})
}
