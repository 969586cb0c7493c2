package sched_test

import (
	"fmt"
	"net/netip"

	"github.com/lvskit/lvskit/sched"
)

// Predict where the kernel's wlc scheduler sends new connections, and how
// the list order (newest destination first) breaks ties.
func Example() {
	s, err := sched.New("wlc", nil)
	if err != nil {
		panic(err)
	}
	for _, d := range []sched.Dest{
		{Addr: netip.MustParseAddrPort("10.0.0.1:80"), Weight: 1},
		{Addr: netip.MustParseAddrPort("10.0.0.2:80"), Weight: 2},
	} {
		if err := s.Add(d); err != nil {
			panic(err)
		}
	}
	for i := 0; i < 6; i++ {
		k := sched.Key{
			Proto: sched.TCP,
			Src:   netip.AddrPortFrom(netip.MustParseAddr("192.0.2.7"), uint16(40000+i)),
			Dst:   netip.MustParseAddrPort("198.51.100.1:80"),
		}
		a, ok := s.Connect(k, true)
		fmt.Println(a, ok)
	}
	// Output:
	// 10.0.0.2:80 true
	// 10.0.0.1:80 true
	// 10.0.0.2:80 true
	// 10.0.0.2:80 true
	// 10.0.0.1:80 true
	// 10.0.0.2:80 true
}

// Predict which server an HAProxy backend with "balance uri" and
// "hash-type consistent" sends a request to.
func ExampleNewHAProxy() {
	b, err := sched.ParseBalance("uri", "consistent")
	if err != nil {
		panic(err)
	}
	h, err := sched.NewHAProxy(b, []sched.Server{
		{Name: "app1", Weight: 1},
		{Name: "app2", Weight: 1},
		{Name: "app3", Weight: 2},
	}, nil)
	if err != nil {
		panic(err)
	}
	for _, uri := range []string{"/index.html", "/img/logo.png", "/index.html?v=2"} {
		name, _ := h.Pick(sched.Request{URI: uri})
		fmt.Println(uri, name)
	}
	// The query string is not hashed (no "whole" option).

	// Output:
	// /index.html app3
	// /img/logo.png app2
	// /index.html?v=2 app3
}
