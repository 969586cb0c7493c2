//go:build netns

package check_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
)

// TestBFDNetnsTTLCheckAndPassword runs two BFDManagers across a router.
// Single-hop packets arrive with TTL 254 and are discarded (RFC 5881 §5)
// until MinTTL allows one hop; sessions with different simple passwords
// discard each other's packets; equal passwords come up; a timer Update
// while Up is negotiated with a poll sequence.
func TestBFDNetnsTTLCheckAndPassword(t *testing.T) {
	tp := newBFDTopo(t)
	evA, evB := newEvents(), newEvents()
	a, b := startManager(t, tp.A, evA), startManager(t, tp.B, evB)
	base := func(peer, local check.BFDSessionConfig) (check.BFDSessionConfig, check.BFDSessionConfig) {
		for _, c := range []*check.BFDSessionConfig{&peer, &local} {
			c.DesiredMinTx, c.RequiredMinRx, c.IdleTx = 20*time.Millisecond, 20*time.Millisecond, 100*time.Millisecond
		}
		return peer, local
	}
	ca, cb := base(check.BFDSessionConfig{Peer: addrB4, Local: addrA4}, check.BFDSessionConfig{Peer: addrA4, Local: addrB4})
	add := func(ca, cb check.BFDSessionConfig) {
		t.Helper()
		a.Remove("s")
		b.Remove("s")
		// Let packets the old sessions sent drain first: one still in
		// a socket buffer would be matched to the new session by address.
		time.Sleep(100 * time.Millisecond)
		if err := a.Add("s", ca); err != nil {
			t.Fatal(err)
		}
		if err := b.Add("s", cb); err != nil {
			t.Fatal(err)
		}
	}
	stuck := func(what string) {
		t.Helper()
		time.Sleep(time.Second)
		sa, _ := a.Session("s")
		sb, _ := b.Session("s")
		if sa.State == check.BFDUp || sb.State == check.BFDUp || sa.Counters.Discarded == 0 || sb.Counters.Discarded == 0 {
			t.Fatalf("%s: states %v %v, discarded %d %d", what, sa.State, sb.State, sa.Counters.Discarded, sb.Counters.Discarded)
		}
		t.Logf("%s: both Down, %d and %d packets discarded", what, sa.Counters.Discarded, sb.Counters.Discarded)
	}

	add(ca, cb)
	stuck("single-hop across a router")

	ca.MinTTL, cb.MinTTL = 254, 254
	cb.TTL = 200 // B's packets arrive with 199: A discards them
	add(ca, cb)
	time.Sleep(time.Second)
	if sa, _ := a.Session("s"); sa.State == check.BFDUp || sa.Counters.Discarded == 0 || sa.Counters.PacketsIn != 0 {
		t.Fatalf("peer sending TTL 200: %v, %d discarded, %d accepted", sa.State, sa.Counters.Discarded, sa.Counters.PacketsIn)
	}
	cb.TTL = 0

	ca.Password, cb.Password = []byte("secret"), []byte("secreT")
	add(ca, cb)
	stuck("one hop allowed, passwords differ")

	cb.Password = []byte("secret")
	add(ca, cb)
	waitStates(t, a, check.BFDUp, 10*time.Second, "s")
	waitStates(t, b, check.BFDUp, 10*time.Second, "s")
	time.Sleep(200 * time.Millisecond)
	if st, _ := a.Session("s"); st.TxInterval != 20*time.Millisecond || st.DetectionTime != 60*time.Millisecond {
		t.Fatalf("tx %v detect %v", st.TxInterval, st.DetectionTime)
	}

	// A slower transmit interval and multiplier while Up: the peer's
	// detection time follows once the poll sequence ends, with no Down.
	ca.DesiredMinTx, ca.DetectMult = 40*time.Millisecond, 5
	if err := a.Update("s", ca); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	sa, _ := a.Session("s")
	sb, _ := b.Session("s")
	if sb.DetectionTime != 200*time.Millisecond || sa.TxInterval != 40*time.Millisecond || sa.Counters.Downs+sb.Counters.Downs != 0 {
		t.Fatalf("after Update: peer detection %v, our tx %v, downs %d/%d", sb.DetectionTime, sa.TxInterval, sa.Counters.Downs, sb.Counters.Downs)
	}
	ca.Local = addrA6
	if err := a.Update("s", ca); err == nil {
		t.Fatal("Update changed the session's local address")
	}
}

// TestBFDNetnsInterfaceBindsTheSender: a single-hop session bound to the
// interface facing its peer comes up; bound to another interface, its
// packets never reach the peer, which stays Down.
func TestBFDNetnsInterfaceBindsTheSender(t *testing.T) {
	tp := newBFDTopo(t)
	a, r := startManager(t, tp.A, newEvents()), startManager(t, tp.R, newEvents())
	cfg := func(peer, local netip.Addr, ifname string) check.BFDSessionConfig {
		return check.BFDSessionConfig{Peer: peer, Local: local, Interface: ifname,
			DesiredMinTx: 20 * time.Millisecond, RequiredMinRx: 20 * time.Millisecond, IdleTx: 100 * time.Millisecond}
	}
	if err := r.Add("s", cfg(addrA4, addrR4, "ra")); err != nil {
		t.Fatal(err)
	}
	if err := a.Add("s", cfg(addrR4, addrA4, "lo")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	sa, _ := a.Session("s")
	sr, _ := r.Session("s")
	if sa.State == check.BFDUp || sr.State != check.BFDDown || sr.Counters.PacketsIn != 0 || sa.Counters.PacketsOut == 0 {
		t.Fatalf("bound to lo: %v (sent %d), peer %v (received %d)", sa.State, sa.Counters.PacketsOut, sr.State, sr.Counters.PacketsIn)
	}
	a.Remove("s")
	if err := a.Add("s", cfg(addrR4, addrA4, "a0")); err != nil {
		t.Fatal(err)
	}
	waitStates(t, a, check.BFDUp, 10*time.Second, "s")
}
