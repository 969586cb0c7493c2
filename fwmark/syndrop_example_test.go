package fwmark_test

import (
	"fmt"
	"net/netip"

	"github.com/lvskit/lvskit/fwmark"
)

// A node about to hand its VIP over holds new connections off; the nft
// script is what SYNDrop.Apply installs.
func ExampleSYNDrop_NftText() {
	d := fwmark.SYNDrop{Dsts: []netip.Addr{netip.MustParseAddr("192.168.0.100")}, Table: "haproxypair_vrid51"}
	text, err := d.NftText()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(text)
	// Output:
	// table inet haproxypair_vrid51 {}
	// delete table inet haproxypair_vrid51
	// table inet haproxypair_vrid51 {
	// 	chain prerouting {
	// 		type filter hook prerouting priority raw; policy accept;
	// 		ip daddr 192.168.0.100 tcp flags & (syn | ack) == syn counter drop comment "syn-drop 192.168.0.100"
	// 	}
	// }
}
