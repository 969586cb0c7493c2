package vrrp_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/lvskit/lvskit/vrrp"
)

// printEnv shows what the state machine asks its environment to do.
type printEnv struct{ start time.Time }

func (e printEnv) Send(prio uint8) { fmt.Printf("send advert, priority %d\n", prio) }
func (e printEnv) Transition(t vrrp.Transition) {
	fmt.Printf("%v: %v -> %v (%v)\n", t.At.Sub(e.start), t.From, t.To, t.Reason)
}

// The election state machine is pure: time is passed in, and adverts and
// transitions come out through an Env. A Router wires it to raw sockets,
// netlink and the clock.
func Example() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m, err := vrrp.NewMachine(vrrp.Election{Version: 3, Priority: 100, Interval: time.Second,
		Primary: netip.MustParseAddr("10.0.0.2")}, printEnv{start})
	if err != nil {
		panic(err)
	}
	m.Start(start)
	fmt.Println("master down interval:", m.MasterDownInterval())
	// A higher-priority master speaks: stay backup.
	m.Advert(start.Add(time.Second), netip.MustParseAddr("10.0.0.3"), 200, time.Second)
	// It goes silent: take over when the timer runs out.
	m.Tick(m.Deadline())

	// Encode the advert the new master sends, then decode it again.
	p := vrrp.Packet{Version: 3, VRID: 51, Priority: m.Priority(), Interval: time.Second,
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}}
	b, err := p.AppendTo(nil, netip.MustParseAddr("10.0.0.2"), vrrp.MulticastIPv4, vrrp.ChecksumPseudoHeader)
	if err != nil {
		panic(err)
	}
	var q vrrp.Packet
	mode, drop := vrrp.Parse(b, vrrp.RecvInfo{Src: netip.MustParseAddr("10.0.0.2"), Dst: vrrp.MulticastIPv4, TTL: 255}, &q)
	fmt.Printf("% x\nVRID %d priority %d %v checksum, drop reason %q\n", b, q.VRID, q.Priority, mode, drop)
	// Output:
	// 0s: INIT -> BACKUP (startup)
	// master down interval: 3.609375s
	// send advert, priority 100
	// 4.609375s: BACKUP -> MASTER (master-down)
	// 31 33 64 01 00 64 75 72 0a 00 00 64
	// VRID 51 priority 100 pseudo-header checksum, drop reason "none"
}

// Validate reports, before anything runs, every reason Router.Add would
// refuse a set of instances.
func ExampleValidate() {
	vips := []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/32")}}
	err := vrrp.Validate(
		vrrp.Config{Name: "web", Interface: "eth0", VRID: 51, VIPs: vips, Interval: 500 * time.Millisecond},
		vrrp.Config{Name: "db", Interface: "eth0", VRID: 51, VIPs: vips, Version: 3, Interval: 500 * time.Millisecond},
	)
	fmt.Println(err)
	// Output:
	// vrrp: instance web: Interval: 500ms: VRRPv2 needs whole seconds 1..255
	// vrrp: instance db: VRID: 51 on eth0 already used by web
}
