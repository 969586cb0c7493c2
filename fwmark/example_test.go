package fwmark_test

import (
	"fmt"
	"net/netip"

	"github.com/lvskit/lvskit/fwmark"
)

// The seed's HTTP+HTTPS bundle: one IPVS service on mark 80.
func Example() {
	vip := netip.MustParsePrefix("192.168.76.24/32")
	rules := fwmark.Rules{
		{Protocol: fwmark.TCP, Dst: vip, Ports: []fwmark.PortRange{fwmark.Port(80), fwmark.Port(443)}, Mark: 80},
		{Protocol: fwmark.TCP, Dst: vip, Ports: []fwmark.PortRange{fwmark.Port(21), {From: 10000, To: 20000}}, Mark: 21},
	}
	cmds, err := fwmark.IptablesCommands(rules)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range cmds {
		fmt.Println(c)
	}
	// Output:
	// iptables -t mangle -A PREROUTING -p tcp -d 192.168.76.24/32 -m multiport --dports 80,443 -j MARK --set-mark 80
	// iptables -t mangle -A PREROUTING -p tcp -d 192.168.76.24/32 -m multiport --dports 21,10000:20000 -j MARK --set-mark 21
}

func ExampleRules_Validate() {
	vip := netip.MustParsePrefix("192.168.76.24/32")
	rules := fwmark.Rules{
		{Protocol: fwmark.TCP, Dst: vip, Ports: []fwmark.PortRange{{From: 10000, To: 20000}}, Mark: 21},
		{Protocol: fwmark.TCP, Dst: vip, Ports: []fwmark.PortRange{fwmark.Port(15000)}, Mark: 80},
	}
	fmt.Println(rules.Validate())
	// Output:
	// rules[1].ports[0]: fwmark: overlapping rules set different marks: tcp port 15000 also matches rules[0] (mark 21) but sets mark 80
}

// A Direct Routing real server that ignores ARP for the VIP, rendered as
// the seed's arptables commands.
func ExampleRealServer_Commands() {
	rs := fwmark.RealServer{
		Method:    fwmark.DRARP,
		VIPs:      []netip.Addr{netip.MustParseAddr("192.168.76.24")},
		Interface: "eth0",
		RealIP:    netip.MustParseAddr("192.168.76.11"),
	}
	cmds, err := rs.Commands()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range cmds {
		fmt.Println(c)
	}
	// Output:
	// arptables -A IN -d 192.168.76.24 -j DROP
	// arptables -A OUT -s 192.168.76.24 -j mangle --mangle-ip-s 192.168.76.11
	// ip addr add 192.168.76.24 dev eth0
}
