//go:build netns

package check_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// startKeepalived runs keepalived with conf in ns and returns the process;
// its log (console, detailed) is the process output.
func startKeepalived(t *testing.T, ns *netns.NS, conf string) *netns.Process {
	t.Helper()
	bin := testenv.NeedTool(t, "keepalived")
	dir := t.TempDir()
	f := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(f, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return ns.Start(bin, "-n", "-l", "-D", "-G", "-R", "-f", f, "-p", filepath.Join(dir, "k.pid"),
		"-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"), "-b", filepath.Join(dir, "b.pid"))
}

// waitLog waits until re matches the process output count times.
func waitLog(t *testing.T, p *netns.Process, re string, count int, limit time.Duration) {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(limit)
	for len(rx.FindAllString(p.Output(), -1)) < count {
		if time.Now().After(deadline) {
			t.Fatalf("keepalived log never showed %q %d times:\n%s", re, count, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBFDNetnsKeepalivedInterop runs keepalived 2.2.7's bfd_instance as
// the peer over IPv4 and IPv6 (keepalived 2.2.7 has no RFC 5883
// multihop; its max_hops only relaxes the TTL check): both sides come Up
// at 10 ms × 3, each sees the other's death as control detection time
// expired, and a removed session is AdminDown for keepalived.
func TestBFDNetnsKeepalivedInterop(t *testing.T) {
	tp := newBFDTopo(t)
	ev := newEvents()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("lvskit transitions: %+v", ev.all)
		}
	})
	conf := `global_defs {
	router_id lvskit_bfd_peer
}
bfd_instance v4 {
	neighbor_ip 10.0.1.1
	source_ip 10.0.1.2
	min_rx 10
	min_tx 10
	multiplier 3
}
bfd_instance v6 {
	neighbor_ip fd00:1::1
	source_ip fd00:1::2
	min_rx 10
	min_tx 10
	multiplier 3
	hoplimit 255
}
`
	ka := startKeepalived(t, tp.R, conf)
	m := startManager(t, tp.A, ev)
	for name, c := range map[string]check.BFDSessionConfig{
		"v4": {Peer: addrR4, Local: addrA4},
		"v6": {Peer: addrR6, Local: addrA6},
	} {
		c.DesiredMinTx, c.RequiredMinRx, c.DetectMult = 10*time.Millisecond, 10*time.Millisecond, 3
		if err := m.Add(name, c); err != nil {
			t.Fatal(err)
		}
	}
	waitStates(t, m, check.BFDUp, 15*time.Second, "v4", "v6")
	waitLog(t, ka, `\(v[46]\) Entering Up state`, 2, 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	for _, n := range []string{"v4", "v6"} {
		st, _ := m.Session(n)
		if st.TxInterval != 10*time.Millisecond || st.DetectionTime != 30*time.Millisecond || st.State != check.BFDUp {
			t.Errorf("%s: %v tx %v detect %v", n, st.State, st.TxInterval, st.DetectionTime)
		}
	}

	// Removing a session tells keepalived it is administratively down.
	if err := m.Remove("v6"); err != nil {
		t.Fatal(err)
	}
	waitLog(t, ka, `\(v6\) Entering Down state \(Local diagnostic - Neighbor Signaled Session Down`, 1, 2*time.Second)

	// keepalived dies: our session expires.
	for len(ev.ch) > 0 {
		<-ev.ch
	}
	ka.Signal(syscall.SIGKILL)
	for done := false; !done; {
		select {
		case tr := <-ev.ch:
			// Under host load a 10 ms session may flap before the kill;
			// what counts is the Down that follows it.
			if tr.Name == "v4" && tr.From == check.BFDUp {
				if tr.To != check.BFDDown || tr.Diag != check.BFDDiagControlDetectExpired {
					t.Fatalf("after keepalived's death: %+v", tr)
				}
				done = true
			}
		case <-time.After(5 * time.Second):
			t.Fatal("session stayed up after keepalived died")
		}
	}

	// The reverse: keepalived sees our death as detection time expired.
	ka2 := startKeepalived(t, tp.R, strings.Replace(conf, "router_id lvskit_bfd_peer", "router_id lvskit_bfd_peer2", 1))
	waitStates(t, m, check.BFDUp, 15*time.Second, "v4")
	waitLog(t, ka2, `\(v4\) Entering Up state`, 1, 5*time.Second)
	m.Close()
	waitLog(t, ka2, `\(v4\) Entering Down state \(Local diagnostic - Neighbor Signaled Session Down|\(v4\) Entering Down state \(Local diagnostic - Control Detection Time Expired`, 1, 5*time.Second)
}
