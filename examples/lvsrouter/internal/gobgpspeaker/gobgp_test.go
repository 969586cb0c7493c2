package gobgpspeaker

import (
	"net/netip"
	"testing"

	"github.com/lvskit/lvskit/examples/lvsrouter/internal/bgpwire"
)

// FuzzPath: every host prefix with any MED and communities builds a GoBGP
// path (lvsrouter's FuzzParseBGP checks what it sends for a file).
func FuzzPath(f *testing.F) {
	f.Add([]byte{192, 0, 2, 1}, uint32(0), false, uint32(0))
	f.Add([]byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, uint32(7), true, uint32(65000<<16|1))
	f.Fuzz(func(t *testing.T, addr []byte, med uint32, hasMED bool, community uint32) {
		a, ok := netip.AddrFromSlice(addr)
		if !ok {
			return
		}
		attrs := bgpwire.Attrs{MED: med, HasMED: hasMED}
		if community != 0 {
			attrs.Communities = []uint32{community}
		}
		if _, err := gobgpPath(netip.PrefixFrom(a, a.BitLen()), attrs); err != nil {
			t.Fatal(err)
		}
	})
}
