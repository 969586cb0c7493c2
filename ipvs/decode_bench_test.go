package ipvs

import (
	"net/netip"
	"testing"

	"github.com/mdlayher/netlink"
)

func BenchmarkDecodeDestMsg(b *testing.B) {
	ae := netlink.NewAttributeEncoder()
	ae.Do(cmdAttrDest|netlink.Nested, func() ([]byte, error) {
		return kernelDest(b, Destination{Addr: netip.MustParseAddrPort("10.1.0.1:80"), Weight: 1, Stats: sampleStats}), nil
	})
	msg := mustEncode(b, ae)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeDestMsg(msg, IPv4); err != nil {
			b.Fatal(err)
		}
	}
}
