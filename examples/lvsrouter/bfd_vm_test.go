//go:build vm

package main

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/ipvs"
)

const bfdCheckConf = `bfd_instance rs1 {
    neighbor_ip 10.0.0.3
    source_ip 10.0.0.2
    min_rx 50
    min_tx 50
    multiplier 3
}

virtual_server 10.0.0.50 80 {
    protocol TCP
    lb_algo rr
    lb_kind DR
    real_server 10.0.0.3 80 {
        BFD_CHECK {
            name rs1
        }
    }
    real_server 10.0.0.4 80 {
    }
}
`

// TestVMBFDCheck runs lvsrouter with a BFD_CHECK real server whose peer
// is a BFDManager in the real server's namespace. When the peer stops, the
// real server leaves the kernel's IPVS service; when it returns, the real
// server does too. The time from the peer's stop to the destination's
// removal is logged beside the detection time.
func TestVMBFDCheck(t *testing.T) {
	testenv.NeedVM(t)
	lan := netns.NewSwitch(t)
	lb, rs := netns.New(t), netns.New(t)
	lan.Connect(lb, "eth0", netip.MustParsePrefix("10.0.0.2/24"))
	lan.Connect(rs, "eth0", netip.MustParsePrefix("10.0.0.3/24"))
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(conf, []byte(bfdCheckConf), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := lb.StartEnv([]string{"LVSROUTER_AS_MAIN=1"}, self, "-f", conf)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("router log:\n%s", p.Output())
		}
	})
	c, err := ipvs.Dial(t.Context(), &ipvs.Config{NetNS: lb.Path()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	dests := func() int {
		svcs, err := c.Dump(t.Context())
		if err != nil || len(svcs) != 1 {
			return -1
		}
		return len(svcs[0].Destinations)
	}
	startPeer := func() (*check.BFDManager, func()) {
		m := check.NewBFDManager(&check.BFDManagerConfig{NetNS: rs.Path()})
		if err := m.Add("lb", check.BFDSessionConfig{Peer: netip.MustParseAddr("10.0.0.2"), Local: netip.MustParseAddr("10.0.0.3"),
			DesiredMinTx: 50 * time.Millisecond, RequiredMinRx: 50 * time.Millisecond, DetectMult: 3}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		return m, func() { cancel(); <-done; m.Close() }
	}
	for round := range 3 {
		peer, stop := startPeer()
		if !waitFor(30*time.Second, func() bool {
			st, _ := peer.Session("lb")
			return st.State == check.BFDUp && dests() == 2
		}) {
			stop()
			t.Fatalf("round %d: session not up with both real servers in IPVS (%d)", round, dests())
		}
		time.Sleep(500 * time.Millisecond)
		st, _ := peer.Session("lb")
		stop()
		stopped := time.Now()
		for dests() != 1 {
			if time.Since(stopped) > 10*time.Second {
				t.Fatalf("round %d: BFD_CHECK real server still in IPVS %v after its peer stopped", round, time.Since(stopped))
			}
			time.Sleep(2 * time.Millisecond)
		}
		took := time.Since(stopped)
		t.Logf("round %d: real server removed from IPVS %v after its BFD peer stopped (detection time %v, apply coalescing 10 ms)", round, took.Round(time.Millisecond), st.DetectionTime)
	}
}
