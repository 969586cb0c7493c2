package keepalivedconf_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lvskit/lvskit/keepalivedconf"
)

func decodeBFD(t *testing.T, src string) (*keepalivedconf.Config, []*keepalivedconf.BFDInstance, error) {
	t.Helper()
	f, err := keepalivedconf.Parse("k.conf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := f.Config()
	bs, warns, err := cfg.BFDInstances()
	if len(warns) > 0 {
		// Warnings come back apart from the error; the tests read them
		// together, in file order.
		list, _ := err.(keepalivedconf.ErrorList)
		list = append(list, warns...)
		list.Sort()
		return cfg, bs, list
	}
	return cfg, bs, err
}

func TestBFDInstancesReadsEveryKeywordWithKeepalivedDefaults(t *testing.T) {
	_, bs, err := decodeBFD(t, `bfd_instance plain {
	neighbor_ip 192.0.2.1
}
bfd_instance full {
	neighbour_ip 2001:db8::1
	source_ip 2001:db8::2
	min_rx 3.312
	min_tx 20
	idle_tx 2000
	multiplier 3
	passive
	ttl 254
	hoplimit 255
	max_hops 2
	weight -20 reverse
	vrrp
	checker
}
`)
	if err != nil {
		t.Fatal(err)
	}
	want := []*keepalivedconf.BFDInstance{
		{Name: "plain", NeighborIP: netip.MustParseAddr("192.0.2.1"), MinRx: 10 * time.Millisecond, MinTx: 10 * time.Millisecond,
			IdleTx: time.Second, Multiplier: 5, TTL: 255, HopLimit: 64},
		{Name: "full", NeighborIP: netip.MustParseAddr("2001:db8::1"), SourceIP: netip.MustParseAddr("2001:db8::2"),
			MinRx: 3312 * time.Microsecond, MinTx: 20 * time.Millisecond, IdleTx: 2 * time.Second, Multiplier: 3, Passive: true,
			TTL: 254, HopLimit: 255, MaxHops: 2, Weight: -20, Reverse: true, VRRP: true, Checker: true},
	}
	if d := cmp.Diff(want, bs, cmpopts.IgnoreFields(keepalivedconf.BFDInstance{}, "Stmt"), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Fatal(d)
	}
}

func TestBFDInstancesRefusesWhatKeepalivedRefuses(t *testing.T) {
	_, bs, err := decodeBFD(t, `bfd_instance b {
	neighbor_ip 10.0.0.1
	idle_tx 500
	min_rx 0.5
	multihop
}
bfd_instance c {
	source_ip 10.0.0.2
}
bfd_instance d {
	neighbor_ip 10.0.0.1
	source_ip 2001:db8::1
}
bfd_instance b {
	neighbor_ip 10.0.0.9
}
`)
	var list keepalivedconf.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("%v", err)
	}
	got := err.Error()
	for _, want := range []string{
		"k.conf:3:10: idle_tx value 500 is not valid",
		"k.conf:4:9: min_rx value 0.5 is not valid",
		"k.conf:5:2: unknown keyword 'multihop'",
		"k.conf:7:1: BFD instance c has no neighbor address set",
		"k.conf:10:1: BFD instance d source address 2001:db8::1 and neighbor address 10.0.0.1 are not of the same family",
		"k.conf:14:14: BFD instance b already configured",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if len(bs) != 1 || bs[0].Name != "b" || bs[0].IdleTx != time.Second || bs[0].MinRx != 10*time.Millisecond {
		t.Errorf("instances %+v", bs)
	}
}

func TestTrackBFDReadsWeightsAndReverse(t *testing.T) {
	cfg, _, _ := decodeBFD(t, `vrrp_instance v {
	interface eth0
	virtual_router_id 1
	virtual_ipaddress {
		10.1.1.1
	}
	track_bfd {
		a
		b weight 10
		c weight -5 reverse
		d weight 5 foo
	}
}
`)
	tr, _, err := cfg.Instances[0].TrackBFD()
	want := []keepalivedconf.TrackBFD{{Name: "a"}, {Name: "b", Weight: 10, WeightSet: true},
		{Name: "c", Weight: -5, WeightSet: true, Reverse: true}, {Name: "d", Weight: 5, WeightSet: true}}
	if d := cmp.Diff(want, tr, cmpopts.IgnoreFields(keepalivedconf.TrackBFD{}, "Stmt")); d != "" {
		t.Fatal(d)
	}
	if err == nil || !strings.Contains(err.Error(), "k.conf:11:14: track_bfd d: unknown option 'foo'") {
		t.Fatalf("err %v", err)
	}
}
