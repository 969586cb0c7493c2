package check_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/lvskit/lvskit/check"
)

// Two session machines, wired back to back, go through the three-way
// handshake: Down, Init, Up.
func ExampleBFDMachine() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := check.BFDSessionConfig{Peer: netip.MustParseAddr("192.0.2.1"), DesiredMinTx: 50 * time.Millisecond, RequiredMinRx: 50 * time.Millisecond}
	a, _ := check.NewBFDMachine(&cfg, 1, now, 1)
	b, _ := check.NewBFDMachine(&cfg, 2, now, 2)
	var p check.BFDPacket
	for range 4 {
		for _, pair := range [][2]*check.BFDMachine{{a, b}, {b, a}} {
			if send, _ := pair[0].Advance(now, &p); send {
				pair[1].Receive(now, &p)
				fmt.Printf("%d sends %v; %d is %v\n", p.MyDiscriminator, p.State, pair[1].LocalDiscriminator(), pair[1].State())
			}
		}
	}
	fmt.Println("detection time", a.DetectionTime())
	// Output:
	// 1 sends Down; 2 is Init
	// 2 sends Init; 1 is Up
	// 1 sends Up; 2 is Up
	// 2 sends Up; 1 is Up
	// detection time 150ms
}
