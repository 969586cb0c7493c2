//go:build netns

package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
)

// bfdPeer returns the status of FRR's BFD session with peer ("" when
// there is none).
func (f *frrNS) bfdPeer(t *testing.T, peer string) string {
	t.Helper()
	ps, err := f.BFDPeers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Peer == peer {
			return p.Status
		}
	}
	return ""
}

func (f *frrNS) waitBFD(t *testing.T, peer, status string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for got := f.bfdPeer(t, peer); got != status; got = f.bfdPeer(t, peer) {
		if time.Now().After(deadline) {
			t.Fatalf("FRR's BFD peer %s is %q, want %q", peer, got, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBGPNetnsFRRBFD: a neighbour with bfd runs a BFD session beside its
// BGP session, and FRR's "neighbor X bfd" uses it. A director that stops
// answering (its process frozen with SIGSTOP: neither BFD nor BGP nor TCP
// says anything, as with a hung or cut-off machine) loses its route at
// FRR when BFD detects it (3 x 100 ms here), not after the 9 s hold time:
// FRR's reason for the reset is BFD. Resumed, the director's BFD and BGP
// sessions come back and so does the route. When FRR's BFD side stops
// answering instead (bfdd frozen), the director's BFD session times out
// and lvsrouter resets the BGP session, as FRR does on its side.
func TestBGPNetnsFRRBFD(t *testing.T) {
	d, u := netns.New(t), netns.New(t)
	netns.Veth(t, d, "d0", u, "u0")
	d.AddAddr("d0", netip.MustParsePrefix("10.0.1.1/24"))
	u.AddAddr("u0", netip.MustParsePrefix("10.0.1.2/24"))
	d.LinkUp("lo")
	f := startFRR(t, u, `frr defaults traditional
hostname upstream
log stdout
!
bfd
 profile fast
  receive-interval 100
  transmit-interval 100
 !
!
router bgp 65000
 bgp router-id 10.0.1.2
 no bgp ebgp-requires-policy
 neighbor 10.0.1.1 remote-as 65001
 neighbor 10.0.1.1 timers 3 9
 neighbor 10.0.1.1 timers connect 1
 neighbor 10.0.1.1 bfd profile fast
 neighbor 10.0.1.1 bfd
!
`)
	dir := t.TempDir()
	flag := filepath.Join(dir, "up")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	kconf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(kconf, []byte(fmt.Sprintf(`virtual_server 192.0.2.10 80 {
    protocol TCP
    lb_algo mh
    lb_kind DR
    delay_loop 0.05
    real_server 10.1.0.1 80 {
        MISC_CHECK {
            misc_path "/bin/sh -c 'test -e %s'"
        }
    }
}
`, flag)), 0o644); err != nil {
		t.Fatal(err)
	}
	bconf := filepath.Join(dir, "bgp.conf")
	if err := os.WriteFile(bconf, []byte(`local_as 65001
router_id 10.0.1.1
neighbor 10.0.1.2 {
    remote_as 65000
    hold_time 9
    connect_retry 1
    bfd {
        min_rx 100
        min_tx 100
        multiplier 3
    }
}
drain_time 0.1
`), 0o644); err != nil {
		t.Fatal(err)
	}
	h := startHelper(t, d, kconf, bconf)
	vip := netip.MustParsePrefix("192.0.2.10/32")
	f.waitRoute(t, vip, []string{"10.0.1.1"}, 30*time.Second)
	f.waitBFD(t, "10.0.1.1", "up", 30*time.Second)

	// The director hangs.
	pid := h.cmd.Process.Pid
	t0 := time.Now()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	gone := f.waitRoute(t, vip, nil, 20*time.Second)
	t.Logf("director frozen -> route gone at FRR: %v (hold time 9 s)", gone.Sub(t0).Round(time.Millisecond))
	// FRR ended the session with a Cease/BFD Down NOTIFICATION (RFC 9384).
	if out := f.vtysh(t, "show bgp neighbors 10.0.1.1 json"); !strings.Contains(out, "BFD Down") {
		t.Errorf("FRR did not end the session for BFD:\n%s", out)
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	f.waitBFD(t, "10.0.1.1", "up", 30*time.Second)
	back := f.waitRoute(t, vip, []string{"10.0.1.1"}, 30*time.Second)
	t.Logf("director resumed -> BFD up and route back: %v", back.Sub(t1).Round(time.Millisecond))

	// FRR's BFD stops answering: the director resets the BGP session.
	bfdd := f.Process("bfdd").Cmd.Process.Pid
	if err := syscall.Kill(bfdd, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(bfdd, syscall.SIGCONT)
	t2 := time.Now()
	deadline := time.Now().Add(20 * time.Second)
	for {
		// vtysh asks every daemon unless told one: frozen bfdd would
		// hold it.
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		out, err := f.VTYDaemon(ctx, "bgpd", "show bgp neighbors 10.0.1.1 json")
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "Administrative Reset") {
			t.Logf("FRR's BFD frozen -> the director reset the BGP session: %v", time.Since(t2).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("FRR never heard the director's reset:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
