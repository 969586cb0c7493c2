//go:build netns

package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/frr"
	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// bfdVRRPConf is the master's configuration, read by lvsrouter and
// keepalived alike: VRRPv3 at 100 ms, tracking a BFD session at 10 ms × 3
// to the uplink neighbour (weight 0: fault while it is down).
const bfdVRRPConf = `global_defs {
    router_id %[1]s
    vrrp_version 3
}
bfd_instance uplink {
    neighbor_ip 10.78.0.254
    source_ip 10.78.0.1
    min_rx 10
    min_tx 10
    multiplier 3
}
vrrp_instance VI_1 {
    state %[2]s
    interface eth0
    virtual_router_id 52
    priority %[3]d
    advert_int 0.1
    virtual_ipaddress {
        10.78.0.100/24 dev eth0
    }
%[4]s}
`

const trackUplink = "    track_bfd {\n        uplink\n    }\n"

var bfdVIP = netip.MustParseAddr("10.78.0.100")

// startKeepalivedConf runs keepalived with conf (all subsystems, so that
// its BFD child runs) and waits for its VRRP child.
func startKeepalivedConf(t *testing.T, ns *netns.NS, conf string) *peer {
	t.Helper()
	testenv.NeedTool(t, "keepalived")
	dir := t.TempDir()
	f := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(f, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &peer{name: "keepalived", ns: ns, vrrpPID: filepath.Join(dir, "vrrp.pid")}
	p.p = ns.Start("keepalived", "-n", "-l", "-D", "-G", "-R", "-f", f, "-p", filepath.Join(dir, "k.pid"),
		"-r", p.vrrpPID, "-c", filepath.Join(dir, "c.pid"), "-b", filepath.Join(dir, "b.pid"))
	t.Cleanup(func() {
		p.p.Kill()
		if t.Failed() {
			t.Logf("keepalived log:\n%s", p.p.Output())
		}
	})
	if !waitFor(20*time.Second, func() bool {
		b, err := os.ReadFile(p.vrrpPID)
		return err == nil && len(strings.TrimSpace(string(b))) > 0
	}) {
		t.Fatal("keepalived's VRRP child did not start")
	}
	return p
}

func startLvsrouterConf(t *testing.T, ns *netns.NS, conf string) *peer {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "lvsrouter.conf")
	if err := os.WriteFile(f, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &peer{name: "lvsrouter", conf: f, ns: ns, p: ns.StartEnv([]string{"LVSROUTER_AS_MAIN=1"}, self, "-f", f)}
	t.Cleanup(func() {
		p.p.Kill()
		if t.Failed() {
			t.Logf("lvsrouter log:\n%s", p.p.Output())
		}
	})
	return p
}

// TestBFDTrackTakeoverAgainstKeepalived: the master tracks its uplink
// neighbour (FRR bfdd) with BFD at 10 ms × 3; bfdd is killed; the master
// faults and the backup (keepalived, priority 200, VRRPv3 at 100 ms)
// takes over. The same run does it with keepalived as the master. The
// time from the neighbour's last BFD packet to the backup's first advert
// is read from one capture on the master; the test asserts the order of
// events (last BFD packet, master's priority-0 advert, backup's advert),
// and logs the times side by side.
func TestBFDTrackTakeoverAgainstKeepalived(t *testing.T) {
	tshark := testenv.NeedTool(t, "tshark")
	trials, _ := strconv.Atoi(os.Getenv("LVSKIT_BFD_TRIALS"))
	if trials == 0 {
		trials = 3
	}
	results := map[string][]string{}
	skipped := map[string]int{}
	for i := range 2 * trials {
		impl := []string{"lvsrouter", "keepalived"}[i%2]
		sw := netns.NewSwitch(t)
		m, b, u := netns.New(t), netns.New(t), netns.New(t)
		sw.Connect(m, "eth0", netip.MustParsePrefix("10.78.0.1/24"))
		sw.Connect(b, "eth0", netip.MustParsePrefix("10.78.0.2/24"))
		sw.Connect(u, "eth0", netip.MustParsePrefix("10.78.0.254/24"))
		bfdd := frr.StartBFDD(t, u, "bfd\n peer 10.78.0.1 local-address 10.78.0.254\n  receive-interval 10\n  transmit-interval 10\n  detect-multiplier 3\n !\n!\n")
		startKeepalivedConf(t, b, fmt.Sprintf(bfdVRRPConf, "backup", "BACKUP", 200, ""))
		var master *peer
		if impl == "lvsrouter" {
			master = startLvsrouterConf(t, m, fmt.Sprintf(bfdVRRPConf, "master", "MASTER", 250, trackUplink))
		} else {
			master = startKeepalivedConf(t, m, fmt.Sprintf(bfdVRRPConf, "master", "MASTER", 250, trackUplink))
		}
		if !waitFor(20*time.Second, func() bool { return hasAddr(m, bfdVIP) && !hasAddr(b, bfdVIP) }) {
			t.Fatalf("%s did not become master with its uplink's BFD session up", impl)
		}
		dir, _ := os.MkdirTemp("", "lvskit-pcap-")
		t.Cleanup(func() { os.RemoveAll(dir) })
		os.Chmod(dir, 0o777)
		pcap := filepath.Join(dir, "m.pcap")
		capture := m.Start(tshark, "-q", "-i", "eth0", "-f", "vrrp or udp port 3784", "-w", pcap)
		time.Sleep(1500 * time.Millisecond)
		bfdd.Process("bfdd").Signal(syscall.SIGKILL)
		if !waitFor(5*time.Second, func() bool { return hasAddr(b, bfdVIP) }) {
			t.Fatalf("%s: backup did not take over after the uplink neighbour died", impl)
		}
		time.Sleep(300 * time.Millisecond)
		capture.Signal(syscall.SIGINT)
		<-capture.Done()
		first := func(filter string, last bool) (float64, bool) {
			out, err := m.Command(context.Background(), tshark, "-r", pcap, "-Y", filter, "-T", "fields", "-e", "frame.time_epoch").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			lines := strings.Fields(string(out))
			if len(lines) == 0 {
				return 0, false
			}
			s := lines[0]
			if last {
				s = lines[len(lines)-1]
			}
			v, _ := strconv.ParseFloat(s, 64)
			return v, true
		}
		lastBFD, ok1 := first("ip.src == 10.78.0.254 && bfd", true)
		after := fmt.Sprintf(" && frame.time_epoch > %.6f", lastBFD)
		fault, ok2 := first("ip.src == 10.78.0.1 && vrrp.prio == 0"+after, false)
		takeover, ok3 := first("ip.src == 10.78.0.2 && vrrp"+after, false)
		before, _ := first("(ip.src == 10.78.0.2 && vrrp) || frame.number == 1", true)
		switch {
		case !ok1 || !ok3:
			t.Fatalf("%s: capture lacks the neighbour's BFD packets or the backup's adverts", impl)
		case !ok2 || before > lastBFD-0.5 && before < lastBFD:
			// The backup was master shortly before the neighbour died:
			// the master's own session flapped under load (keepalived
			// logs "Expired after"); this trial measures nothing.
			t.Logf("%s: the master was not the sole master when the neighbour died (its session flapped); trial skipped", impl)
			skipped[impl]++
			master.p.Kill()
			continue
		}
		if !(lastBFD < fault && fault < takeover) {
			t.Fatalf("%s: events out of order: last BFD %.6f, priority 0 %.6f, backup advert %.6f", impl, lastBFD, fault, takeover)
		}
		ms := func(d float64) string { return fmt.Sprintf("%.1f ms", d*1000) }
		results[impl] = append(results[impl], fmt.Sprintf("fault %s, takeover %s", ms(fault-lastBFD), ms(takeover-lastBFD)))
		master.p.Kill()
	}
	for _, impl := range []string{"lvsrouter", "keepalived"} {
		if len(results[impl]) == 0 {
			t.Errorf("%s: every trial skipped", impl)
		}
		t.Logf("%s: %d trials skipped for a flap before the kill", impl, skipped[impl])
		t.Logf("%-10s after the neighbour's last BFD packet (10 ms x 3, detection 30 ms): %s", impl, strings.Join(results[impl], "; "))
	}
}
