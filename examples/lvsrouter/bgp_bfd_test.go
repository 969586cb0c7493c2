package main

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/check"
)

// TestBGPBFDSessions: a neighbour's bfd becomes one of the plan's BFD
// sessions, named "bgp:" and the address, with the block's timers; a
// bfd_instance to the same neighbour from the same source is refused with
// the bfd line's place.
func TestBGPBFDSessions(t *testing.T) {
	dir := t.TempDir()
	kconf := filepath.Join(dir, "k.conf")
	vs := "virtual_server 192.0.2.10 80 {\n protocol TCP\n real_server 10.1.0.1 80 {\n }\n}\n"
	if err := os.WriteFile(kconf, []byte(vs), 0o644); err != nil {
		t.Fatal(err)
	}
	bconf := filepath.Join(dir, "bgp.conf")
	src := "local_as 1\nrouter_id 1.2.3.4\nneighbor 10.0.0.1 {\n remote_as 2\n local_address 10.0.0.11\n bfd {\n  min_rx 100\n  min_tx 200\n  multiplier 4\n }\n}\nneighbor 10.0.0.2 {\n remote_as 2\n bfd\n}\nneighbor 10.0.0.3 { remote_as 2 }\n"
	if err := os.WriteFile(bconf, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func(old string) { bgpFile = old }(bgpFile)
	bgpFile = bconf
	p, _, err := load(kconf, anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	want := []BFDSession{
		{Name: "bgp:10.0.0.1", Config: check.BFDSessionConfig{Peer: netip.MustParseAddr("10.0.0.1"), Local: netip.MustParseAddr("10.0.0.11"),
			RequiredMinRx: 100 * time.Millisecond, DesiredMinTx: 200 * time.Millisecond, DetectMult: 4}},
		{Name: "bgp:10.0.0.2", Config: check.BFDSessionConfig{Peer: netip.MustParseAddr("10.0.0.2")}},
	}
	if d := cmp.Diff(want, p.BFD, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("plan's BFD sessions (-want +got)\n%s", d)
	}

	// The same session as a bfd_instance.
	if err := os.WriteFile(kconf, []byte(vs+"bfd_instance up {\n neighbor_ip 10.0.0.2\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = load(kconf, anyInterface)
	if err == nil || !strings.Contains(err.Error(), bconf+":14:2: bgp: neighbor 10.0.0.2: bfd: bfd_instance up already runs a session to 10.0.0.2") {
		t.Errorf("load: %v", err)
	}
}

// TestBGPBFDDownResetsSession: a neighbour's BFD session going from Up to
// Down because its detection time expired resets its BGP session; Down
// without having been Up does not, nor a Down the neighbour signalled, nor
// a bfd_instance's session.
func TestBGPBFDDownResetsSession(t *testing.T) {
	events := &eventLog{}
	r := newRouter(slog.New(slog.DiscardHandler))
	var sp bgpSpeaker = &fakeSpeaker{log: events}
	r.bgp.live.Store(&sp)
	r.bfd.initMaps()
	n := netip.MustParseAddr("10.0.0.1")
	tr := func(name string, from, to check.BFDState) {
		r.onBFD(check.BFDTransition{Name: name, Peer: n, From: from, To: to, Diag: check.BFDDiagControlDetectExpired})
	}
	tr("bgp:10.0.0.1", check.BFDDown, check.BFDDown) // never Up
	tr("bgp:10.0.0.1", check.BFDInit, check.BFDUp)
	r.onBFD(check.BFDTransition{Name: "bgp:10.0.0.1", Peer: n, From: check.BFDUp, To: check.BFDDown, Diag: check.BFDDiagNeighborDown})
	tr("uplink", check.BFDDown, check.BFDUp)
	tr("uplink", check.BFDUp, check.BFDDown)
	tr("bgp:10.0.0.1", check.BFDInit, check.BFDUp)
	tr("bgp:10.0.0.1", check.BFDUp, check.BFDDown)
	var got []string
	for end := time.Now().Add(5 * time.Second); len(got) == 0 && time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		got = events.take()
	}
	time.Sleep(50 * time.Millisecond)
	got = append(got, events.take()...)
	if want := []string{"reset 10.0.0.1: BFD session down (" + check.BFDDiagControlDetectExpired.String() + ")"}; !slices.Equal(got, want) {
		t.Errorf("speaker saw %q, want %q", got, want)
	}
}

// TestBGPBFDChangeKeepsSession: neighbours that differ only in their BFD
// settings are the same BGP session, so a reload changing bfd does not
// replace the speaker's peer.
func TestBGPBFDChangeKeepsSession(t *testing.T) {
	a := BGPNeighbor{Address: netip.MustParseAddr("10.0.0.1"), RemoteAS: 2, HoldTime: 9 * time.Second}
	b := a
	b.BFD = BGPBFD{Enabled: true, MinRx: time.Second}
	if a.wire() != b.wire() {
		t.Error("a bfd change alone compares as another session")
	}
	b.HoldTime = 6 * time.Second
	if a.wire() == b.wire() {
		t.Error("a hold_time change compares as the same session")
	}
}
