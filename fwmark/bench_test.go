package fwmark

import (
	"fmt"
	"net/netip"
	"testing"
)

// manyRules returns n rules on distinct VIPs, each bundling 80 and 443.
func manyRules(n int, markBase uint32) Rules {
	rs := make(Rules, n)
	for i := range rs {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		rs[i] = Rule{Protocol: TCP, Dst: netip.PrefixFrom(a, 32), Ports: []PortRange{Port(80), Port(443)}, Mark: markBase + uint32(i)}
	}
	return rs
}

func BenchmarkValidate(b *testing.B) {
	for _, n := range []int{100, 1000} {
		rs := manyRules(n, 1)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := rs.Validate(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRender(b *testing.B) {
	rs := manyRules(1000, 1)
	b.Run("nft", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := NftText(rs, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("iptables", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := IptablesCommands(rs); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	text := (&Config{Rules: manyRules(1000, 1)}).Format()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("bench", []byte(text)); err != nil {
			b.Fatal(err)
		}
	}
}
