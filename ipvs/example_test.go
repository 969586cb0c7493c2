package ipvs_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/lvskit/lvskit/ipvs"
)

// Diff is the pure core of Apply: given what the kernel has and what is
// wanted, it lists the fewest operations. A weight change is one edit.
func ExampleDiff() {
	web := ipvs.Service{
		Protocol:  ipvs.TCP,
		Addr:      netip.MustParseAddrPort("192.0.2.10:80"),
		Scheduler: "wrr",
		Destinations: []ipvs.Destination{
			{Addr: netip.MustParseAddrPort("10.0.0.1:80"), Forward: ipvs.Masquerade, Weight: 1},
			{Addr: netip.MustParseAddrPort("10.0.0.2:80"), Forward: ipvs.Masquerade, Weight: 1},
		},
	}
	current := []ipvs.Service{web}

	wanted := web
	wanted.Destinations = []ipvs.Destination{
		{Addr: netip.MustParseAddrPort("10.0.0.1:80"), Forward: ipvs.Masquerade, Weight: 3},
		{Addr: netip.MustParseAddrPort("10.0.0.2:80"), Forward: ipvs.Masquerade, Weight: 1},
	}
	ops, err := ipvs.Diff(current, []ipvs.Service{wanted}, nil)
	if err != nil {
		panic(err)
	}
	for _, op := range ops {
		fmt.Println(op)
	}
	// Output:
	// edit-server TCP 192.0.2.10:80 -> 10.0.0.1:80
}

// A router reload: Apply makes the kernel match the configuration with the
// fewest changes. (Needs root and the ip_vs module, so it is not run.)
func ExampleClient_Apply() {
	ctx := context.Background()
	c, err := ipvs.Dial(ctx, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	changes, err := c.Apply(ctx, []ipvs.Service{{
		Protocol:  ipvs.TCP,
		Addr:      netip.MustParseAddrPort("192.0.2.10:80"),
		Scheduler: "wlc",
		Destinations: []ipvs.Destination{
			{Addr: netip.MustParseAddrPort("10.0.0.1:80"), Forward: ipvs.Route, Weight: 1},
		},
	}}, &ipvs.ApplyConfig{Managed: func(ipvs.ServiceKey) bool { return false }}) // leave other services alone
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, op := range changes.Ops {
		fmt.Println(op)
	}
}
