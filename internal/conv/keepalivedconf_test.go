package conv_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/keepalivedconf"
	"github.com/lvskit/lvskit/sched"
)

// keepalivedconf reads protocol into its own Protocol, and sched's Key
// carries one, with ipvs's values.
var (
	_ [uint8(ipvs.TCP) - uint8(sched.TCP)]struct{}
	_ [uint8(sched.TCP) - uint8(ipvs.TCP)]struct{}
	_ [uint8(ipvs.UDP) - uint8(sched.UDP)]struct{}
	_ [uint8(sched.UDP) - uint8(ipvs.UDP)]struct{}
	_ [uint8(ipvs.SCTP) - uint8(sched.SCTP)]struct{}
	_ [uint8(sched.SCTP) - uint8(ipvs.SCTP)]struct{}
	_ [uint8(ipvs.TCP) - uint8(keepalivedconf.TCP)]struct{}
	_ [uint8(keepalivedconf.TCP) - uint8(ipvs.TCP)]struct{}
	_ [uint8(ipvs.UDP) - uint8(keepalivedconf.UDP)]struct{}
	_ [uint8(keepalivedconf.UDP) - uint8(ipvs.UDP)]struct{}
	_ [uint8(ipvs.SCTP) - uint8(keepalivedconf.SCTP)]struct{}
	_ [uint8(keepalivedconf.SCTP) - uint8(ipvs.SCTP)]struct{}
)

// TestKeepalivedconfProtocolMirror pins the underlying type and spellings.
func TestKeepalivedconfProtocolMirror(t *testing.T) {
	if reflect.TypeFor[keepalivedconf.Protocol]().Kind() != reflect.Uint8 || reflect.TypeFor[sched.Protocol]().Kind() != reflect.Uint8 {
		t.Error("keepalivedconf.Protocol and sched.Protocol must be uint8")
	}
	for _, p := range []ipvs.Protocol{ipvs.TCP, ipvs.UDP, ipvs.SCTP} {
		kp := keepalivedconf.Protocol(p)
		if kp.String() != p.String() {
			t.Errorf("protocol %d spelled %q in keepalivedconf, %q in ipvs", p, kp, p)
		}
		if sp := sched.Protocol(p); sp.String() != p.String() {
			t.Errorf("protocol %d spelled %q in sched, %q in ipvs", p, sp, p)
		}
		back, err := keepalivedconf.ParseProtocol(p.String())
		if err != nil || uint8(back) != uint8(p) {
			t.Errorf("keepalivedconf.ParseProtocol(%q) = %v, %v", p, back, err)
		}
	}
}

// TestKeepalivedconfSchedulersAreSchedNames pins the lb_algo names
// keepalivedconf accepts to sched.Names: keepalived 2.2.7 accepts every
// kernel scheduler.
func TestKeepalivedconfSchedulersAreSchedNames(t *testing.T) {
	got := stringTable(t, "../../keepalivedconf/virtual_server.go", "schedulers")
	want := sched.Names()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("keepalivedconf accepts lb_algo %v, sched.Names() = %v", got, want)
	}
}
