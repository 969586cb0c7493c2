//go:build netns

package check_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/internal/testenv"
)

// frrConf returns a bfdd configuration for the four peers of the topology
// as seen from R (single-hop) or B (multihop).
func frrConf(multihop, passive bool, ms int) string {
	var b strings.Builder
	b.WriteString("bfd\n")
	for _, p := range [][2]string{{addrA4.String(), "10.0.1.2"}, {addrA6.String(), "fd00:1::2"}} {
		local := p[1]
		mh := ""
		if multihop {
			local = map[string]string{"10.0.1.2": "10.0.2.2", "fd00:1::2": "fd00:2::2"}[local]
			mh = " multihop"
		}
		fmt.Fprintf(&b, " peer %s%s local-address %s\n  receive-interval %d\n  transmit-interval %d\n  detect-multiplier 3\n", p[0], mh, local, ms, ms)
		if passive {
			b.WriteString("  passive-mode\n")
		}
		b.WriteString(" !\n")
	}
	b.WriteString("!\n")
	return b.String()
}

// addFour adds the four sessions of the topology to m.
func addFour(t *testing.T, m *check.BFDManager, passive bool, iv time.Duration) []string {
	t.Helper()
	for _, s := range []struct {
		name string
		cfg  check.BFDSessionConfig
	}{
		{"single4", check.BFDSessionConfig{Peer: addrR4, Local: addrA4}},
		{"single6", check.BFDSessionConfig{Peer: addrR6, Local: addrA6}},
		{"multi4", check.BFDSessionConfig{Peer: addrB4, Local: addrA4, Multihop: true}},
		{"multi6", check.BFDSessionConfig{Peer: addrB6, Local: addrA6, Multihop: true}},
	} {
		s.cfg.Passive = passive
		s.cfg.DesiredMinTx, s.cfg.RequiredMinRx, s.cfg.DetectMult = iv, iv, 3
		if err := m.Add(s.name, s.cfg); err != nil {
			t.Fatal(err)
		}
	}
	return []string{"single4", "single6", "multi4", "multi6"}
}

// TestBFDNetnsFRRInterop brings up single-hop and multihop sessions over
// IPv4 and IPv6 with FRR's bfdd, with lvskit active and bfdd passive and
// the reverse; checks that `show bfd peers` agrees with our view (status,
// discriminators, negotiated timers); that tshark's BFD dissector finds
// every packet we sent well formed; and that the sessions go down on link
// loss and on bfdd's death.
func TestBFDNetnsFRRInterop(t *testing.T) {
	tshark := testenv.NeedTool(t, "tshark")
	for _, weActive := range []bool{true, false} {
		t.Run(map[bool]string{true: "lvskit-active", false: "lvskit-passive"}[weActive], func(t *testing.T) {
			tp := newBFDTopo(t)
			pcap := filepath.Join(t.TempDir(), "a.pcap")
			os.WriteFile(pcap, nil, 0o666)
			os.Chmod(filepath.Dir(pcap), 0o777)
			cap := tp.A.Start(tshark, "-q", "-i", "a0", "-f", "udp and (port 3784 or port 4784)", "-w", pcap)
			time.Sleep(time.Second) // tshark needs a moment before it captures
			single := startBFDD(t, tp.R, frrConf(false, weActive, 50))
			multi := startBFDD(t, tp.B, frrConf(true, weActive, 50))
			ev := newEvents()
			m := startManager(t, tp.A, ev)
			names := addFour(t, m, !weActive, 50*time.Millisecond)
			waitStates(t, m, check.BFDUp, 15*time.Second, names...)
			time.Sleep(500 * time.Millisecond) // poll sequences settle

			// Our view and bfdd's agree.
			frr := map[string]frrPeer{}
			for _, d := range []*bfdd{single, multi} {
				for _, p := range d.peers(t) {
					frr[fmt.Sprint(p.Multihop, p.Peer)] = p
				}
			}
			for _, n := range names {
				st, _ := m.Session(n)
				local := addrA4.String()
				if st.Config.Peer.Is6() {
					local = addrA6.String()
				}
				p, ok := frr[fmt.Sprint(st.Config.Multihop, local)]
				if !ok {
					t.Fatalf("%s: bfdd has no peer %s (multihop %v): %v", n, local, st.Config.Multihop, frr)
				}
				if p.Status != "up" || p.ID != st.RemoteDiscriminator || p.RemoteID != st.LocalDiscriminator {
					t.Errorf("%s: bfdd %+v, ours %+v", n, p, st)
				}
				if st.TxInterval != 50*time.Millisecond || st.DetectionTime != 150*time.Millisecond {
					t.Errorf("%s: tx %v detect %v, want 50ms 150ms", n, st.TxInterval, st.DetectionTime)
				}
				if p.RemoteRx != 50 || p.RemoteTx != 50 {
					t.Errorf("%s: bfdd sees our timers rx %d tx %d", n, p.RemoteRx, p.RemoteTx)
				}
			}

			// Every packet we sent is well formed BFD.
			cap.Signal(syscall.SIGINT)
			<-cap.Done()
			count := func(filter string) int {
				out, err := tp.A.Command(context.Background(), tshark, "-r", pcap, "-Y", filter, "-T", "fields", "-e", "frame.number").Output()
				if err != nil {
					t.Fatalf("tshark -Y %q: %v", filter, err)
				}
				return strings.Count(string(out), "\n")
			}
			ours := "(ip.src == 10.0.1.1 || ipv6.src == fd00:1::1)"
			all := count(ours)
			good := count(ours + " && bfd.version == 1 && !_ws.malformed && !_ws.expert")
			if all < 20 || good != all {
				t.Errorf("tshark: %d of our %d packets are well formed BFD", good, all)
			}
			multihop := count(ours + " && udp.dstport == 4784 && (ip.ttl == 255 || ipv6.hlim == 255)")
			if multihop == 0 {
				t.Error("tshark: no multihop packets with TTL 255")
			}
			t.Logf("tshark: %d packets from lvskit, all well formed", all)

			// Link loss: single-hop sessions go down on detection time.
			run(t, tp.R, "ip", "link", "set", "ra", "down")
			waitStates(t, m, check.BFDDown, 5*time.Second, "single4", "single6", "multi4", "multi6")
			for _, n := range names {
				if st, _ := m.Session(n); st.Diag != check.BFDDiagControlDetectExpired {
					t.Errorf("%s: diag %v after link loss", n, st.Diag)
				}
			}
			run(t, tp.R, "ip", "link", "set", "ra", "up")
			waitStates(t, m, check.BFDUp, 15*time.Second, names...)

			// Process death: bfdd on B killed, multihop sessions go down.
			multi.proc.Signal(syscall.SIGKILL)
			waitStates(t, m, check.BFDDown, 5*time.Second, "multi4", "multi6")
			waitStates(t, m, check.BFDUp, time.Second, "single4", "single6")
			ups, downs := 0, 0
			for _, tr := range ev.all {
				if tr.To == check.BFDUp {
					ups++
				}
				if tr.From == check.BFDUp {
					downs++
				}
			}
			switch {
			case ups < 8 || downs < 6:
				t.Errorf("%d transitions to Up, %d from Up; want 8 and 6: %v", ups, downs, ev.all)
			case ups > 8 || downs > 6:
				// A session that went down and up again on its own: a flap
				// under host load, reported rather than failed.
				t.Logf("flaps: %d transitions to Up, %d from Up (8 and 6 planned): %v", ups, downs, ev.all)
			}
		})
	}
}

// TestBFDNetnsFRRDetectionTime measures, at 10 ms × 3 and 50 ms × 3, how
// long after bfdd's last packet lvskit declares the session down, when
// bfdd is SIGKILLed or its link goes down. It reports the distribution
// beside the negotiated detection time; it asserts only what the clock
// cannot upset: every trial ends Down with diagnostic 1, never before the
// detection time after the last packet.
func TestBFDNetnsFRRDetectionTime(t *testing.T) {
	trials, _ := strconv.Atoi(os.Getenv("LVSKIT_BFD_TRIALS"))
	if trials == 0 {
		trials = 6
	}
	for _, ms := range []int{10, 50} {
		t.Run(fmt.Sprintf("%dms", ms), func(t *testing.T) {
			tp := newBFDTopo(t)
			ev := newEvents()
			m := startManager(t, tp.A, ev)
			iv := time.Duration(ms) * time.Millisecond
			if err := m.Add("s", check.BFDSessionConfig{Peer: addrR4, Local: addrA4, DesiredMinTx: iv, RequiredMinRx: iv, DetectMult: 3}); err != nil {
				t.Fatal(err)
			}
			var over []time.Duration
			var detect time.Duration
			for i := range trials {
				d := startBFDD(t, tp.R, frrConf(false, true, ms))
				waitStates(t, m, check.BFDUp, 15*time.Second, "s")
				time.Sleep(300 * time.Millisecond)
				st, _ := m.Session("s")
				detect = st.DetectionTime
				for len(ev.ch) > 0 {
					<-ev.ch
				}
				how := "SIGKILL"
				if i%2 == 1 {
					how = "link down"
					run(t, tp.R, "ip", "link", "set", "ra", "down")
				} else {
					d.proc.Signal(syscall.SIGKILL)
				}
				var tr check.BFDTransition
				select {
				case tr = <-ev.ch:
				case <-time.After(5 * time.Second):
					t.Fatalf("trial %d (%s): still %v", i, how, st.State)
				}
				st, _ = m.Session("s")
				if tr.To != check.BFDDown || tr.Diag != check.BFDDiagControlDetectExpired {
					t.Fatalf("trial %d: %+v", i, tr)
				}
				after := tr.At.Sub(st.LastRx)
				if after < detect {
					t.Fatalf("trial %d: down %v after the last packet, before the detection time %v", i, after, detect)
				}
				over = append(over, after-detect)
				if how == "link down" {
					run(t, tp.R, "ip", "link", "set", "ra", "up")
				}
				d.proc.Kill()
			}
			t.Logf("%d ms x 3: negotiated detection time %v; detected after last packet + %s (TX interval %v)", ms, detect, spread(over), iv)
		})
	}
}

// spread formats min / median / max of ds.
func spread(ds []time.Duration) string {
	s := append([]time.Duration(nil), ds...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	r := func(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
	return fmt.Sprintf("min %s / median %s / max %s over %d trials", r(s[0]), r(s[len(s)/2]), r(s[len(s)-1]), len(s))
}
