package main

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/ipvs"
)

// TestManagedServices: the router deletes the services it made once a
// reload drops them, also when the apply that should have deleted them
// failed and another reload came before the retry, and all of its own at
// its stop; a service someone else put in the kernel is left alone
// throughout, also one at an address the router managed before.
func TestManagedServices(t *testing.T) {
	conf := func(ips ...int) string {
		var b strings.Builder
		for _, i := range ips {
			fmt.Fprintf(&b, "virtual_server 10.0.0.%d 80 {\n    protocol TCP\n    lb_algo rr\n    lb_kind NAT\n    real_server 10.1.0.%d 80 {\n        weight 1\n    }\n}\n", i, i)
		}
		return b.String()
	}
	k := newMemKernel()
	foreign := &ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.99:80"), Scheduler: "rr"}
	k.svcs[foreign.Key()] = foreign
	r := memRouter(t, k)
	inKernel := func() string {
		var out []string
		for key := range k.svcs {
			out = append(out, key.Addr.Addr().String())
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	step := func(name, want string) {
		t.Helper()
		if got := inKernel(); got != want {
			t.Fatalf("%s: kernel has %s, want %s", name, got, want)
		}
	}
	memLoad(t, r, conf(1, 2))
	step("start", "10.0.0.1 10.0.0.2 10.0.0.99")
	memLoad(t, r, conf(1, 3))
	step("reload dropping 2", "10.0.0.1 10.0.0.3 10.0.0.99")
	again := &ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.2:80"), Scheduler: "rr"}
	k.svcs[again.Key()] = again
	k.fail = true
	p, err := translateText(t, conf(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Load(t.Context(), p); err == nil {
		t.Fatal("a failed apply did not fail the load")
	}
	step("failed reload dropping 3", "10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.99")
	memLoad(t, r, conf(1, 4))
	step("reload dropping 3 (again) and adding 4", "10.0.0.1 10.0.0.2 10.0.0.4 10.0.0.99")
	memLoad(t, r, conf(4))
	step("reload dropping 1", "10.0.0.2 10.0.0.4 10.0.0.99")
	k.fail = true
	p, err = translateText(t, conf(5))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Load(t.Context(), p); err == nil {
		t.Fatal("a failed apply did not fail the load")
	}
	r.close()
	step("stop after a failed reload dropping 4", "10.0.0.2 10.0.0.99")
}
