package vrrp

import "net"

// VirtualMAC returns the virtual router MAC address for vrid: 00:00:5e:00:01:VRID
// for IPv4 and 00:00:5e:00:02:VRID for IPv6 (RFC 9568 7.3).
func VirtualMAC(vrid uint8, ipv6 bool) net.HardwareAddr {
	if ipv6 {
		return net.HardwareAddr{0, 0, 0x5e, 0, 2, vrid}
	}
	return net.HardwareAddr{0, 0, 0x5e, 0, 1, vrid}
}
