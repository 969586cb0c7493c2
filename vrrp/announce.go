package vrrp

import (
	"net"
	"net/netip"
)

// appendGARP appends a broadcast Ethernet frame carrying a gratuitous ARP
// request for ip from mac (sender and target address both ip, as keepalived
// sends them), which makes neighbours replace their cache entries.
func appendGARP(b []byte, mac net.HardwareAddr, ip netip.Addr) []byte {
	bcast := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	a := ip.As4()
	b = append(b, bcast...)
	b = append(b, mac...)
	b = append(b, 0x08, 0x06)                // ethertype ARP
	b = append(b, 0, 1, 0x08, 0, 6, 4, 0, 1) // Ethernet, IPv4, request
	b = append(b, mac...)
	b = append(b, a[:]...)
	b = append(b, bcast...)
	b = append(b, a[:]...)
	return b
}
