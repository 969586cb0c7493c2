package main

import (
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/lvskit/lvskit/ipvs"
)

// scaleServices and scaleReals size the start and reload benchmarks:
// 10,000 virtual servers × 4 TCP-checked real servers, issue #20.
const (
	scaleServices = 10000
	scaleReals    = 4
)

// scaleReal is the i-th real server address (1-based); every virtual server
// shares the same four, which listen inside the namespace so that every
// TCP_CHECK passes.
func scaleReal(j int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 250, 0, byte(j)}), 80)
}

// scaleVS is the i-th virtual server; numeric order is config order, so a
// router that adds in either order fills the services in the order
// scaleWait walks them. The addresses are consecutive (10.100.0.1,
// 10.100.0.2, ...), as a site numbers its VIPs. Until 2026-12-06 they were
// 10.100.0.1, 10.100.1.1, ... 10.139.15.1: the kernel (6.1) hashes a
// service by the low 8 bits of its address xor its port into 256 buckets,
// so all 10,000 shared one, and every add or lookup of a service walked
// that chain: both routers then spent most of their IPVS time there.
// LVSKIT_SCALE_VIPS=clustered brings that layout back.
func scaleVS(i int) ipvs.Service {
	if scaleClustered {
		return ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(100 + i>>8), byte(i), 1}), 80)}
	}
	v := i + 1
	return ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 100, byte(v >> 8), byte(v)}), 80)}
}

var scaleClustered = os.Getenv("LVSKIT_SCALE_VIPS") == "clustered"

// scaleEdited is the virtual server whose first real server's weight the
// reload changes.
const scaleEdited = scaleServices / 2

// scaleConf returns the keepalived.conf both routers start from, with the
// first real server of service scaleEdited at weight w.
func scaleConf(w int) []byte {
	var b strings.Builder
	for i := range scaleServices {
		fmt.Fprintf(&b, "virtual_server %s %d {\n    delay_loop 60\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n", scaleVS(i).Addr.Addr(), scaleVS(i).Addr.Port())
		for j := 1; j <= scaleReals; j++ {
			weight := 1
			if i == scaleEdited && j == 1 {
				weight = w
			}
			rs := scaleReal(j)
			fmt.Fprintf(&b, "    real_server %s %d {\n        weight %d\n        TCP_CHECK {\n            connect_timeout 5\n        }\n    }\n", rs.Addr(), rs.Port(), weight)
		}
		b.WriteString("}\n")
	}
	return []byte(b.String())
}
