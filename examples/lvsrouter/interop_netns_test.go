//go:build netns

package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/vishvananda/netlink"
)

// interopConf is a VRRP-only configuration both lvsrouter and keepalived
// read: one instance with PASS authentication, as in the seed document.
const interopConf = `global_defs {
    router_id %[1]s
}

vrrp_instance VI_1 {
    state %[2]s
    interface eth0
    virtual_router_id 51
    priority %[3]d
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cr3t
    }
    virtual_ipaddress {
        10.77.0.100/24 dev eth0
    }
}
`

// peer is lvsrouter or keepalived running in a namespace.
type peer struct {
	name    string
	conf    string
	ns      *netns.NS
	p       *netns.Process
	vrrpPID string // keepalived's VRRP child pid file
	// confPath is keepalived's configuration file.
	confPath string
}

// crash kills the peer without letting it resign: keepalived's VRRP child
// first (a parent that dies first makes its child resign gracefully).
func (p *peer) crash() {
	if p.vrrpPID != "" {
		if b, err := os.ReadFile(p.vrrpPID); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	p.p.Kill()
	// A crashed machine takes its addresses with it.
	if l, err := p.ns.Handle().LinkByName("eth0"); err == nil {
		p.ns.Handle().AddrDel(l, &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix("10.77.0.100/24"))})
	}
}

// interopLAN is two hosts on a bridge: lb1 10.77.0.1, lb2 10.77.0.2.
func interopLAN(t *testing.T) (*netns.NS, *netns.NS) {
	sw := netns.NewSwitch(t)
	a, b := netns.New(t), netns.New(t)
	sw.Connect(a, "eth0", netip.MustParsePrefix("10.77.0.1/24"))
	sw.Connect(b, "eth0", netip.MustParsePrefix("10.77.0.2/24"))
	return a, b
}

func startLvsrouter(t *testing.T, ns *netns.NS, state string, prio int) *peer {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "lvsrouter.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, interopConf, "lvsrouter", state, prio), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &peer{name: "lvsrouter", conf: conf, ns: ns, p: ns.StartEnv([]string{"LVSROUTER_AS_MAIN=1"}, self, "-f", conf)}
	t.Cleanup(func() {
		p.p.Kill()
		if t.Failed() {
			t.Logf("lvsrouter log:\n%s", p.p.Output())
		}
	})
	return p
}

func startKeepalived(t *testing.T, ns *netns.NS, state string, prio int) *peer {
	t.Helper()
	return startKeepalivedVRRP(t, ns, fmt.Sprintf(interopConf, "keepalived", state, prio))
}

// startKeepalivedVRRP runs keepalived's VRRP process alone with conf and
// waits for its VRRP child.
func startKeepalivedVRRP(t *testing.T, ns *netns.NS, conf string) *peer {
	t.Helper()
	testenv.NeedTool(t, "keepalived")
	dir := t.TempDir()
	f := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(f, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &peer{name: "keepalived", ns: ns, vrrpPID: filepath.Join(dir, "vrrp.pid"), confPath: f}
	p.p = ns.Start("keepalived", "-n", "-l", "-D", "-G", "-R", "-P", "-f", f, "-p", filepath.Join(dir, "k.pid"), "-r", p.vrrpPID)
	t.Cleanup(func() {
		p.crash()
		if t.Failed() {
			t.Logf("keepalived log:\n%s", p.p.Output())
		}
	})
	// keepalived is ready once its VRRP child has written its pid.
	if !waitFor(20*time.Second, func() bool {
		b, err := os.ReadFile(p.vrrpPID)
		return err == nil && len(strings.TrimSpace(string(b))) > 0
	}) {
		t.Fatal("keepalived's VRRP child did not start")
	}
	return p
}

var interopVIP = netip.MustParseAddr("10.77.0.100")

// waitSoleMaster waits until only want holds the VIP and it keeps holding
// it alone over a few advertisement intervals.
func waitSoleMaster(t *testing.T, want, other *peer) {
	t.Helper()
	sole := func() bool { return hasAddr(want.ns, interopVIP) && !hasAddr(other.ns, interopVIP) }
	if !waitFor(30*time.Second, sole) {
		t.Fatalf("%s did not become sole master (%s holds VIP: %v, %s: %v)",
			want.name, want.name, hasAddr(want.ns, interopVIP), other.name, hasAddr(other.ns, interopVIP))
	}
	for range 10 {
		time.Sleep(300 * time.Millisecond)
		if !sole() {
			t.Fatalf("%s lost mastership while %s stayed backup", want.name, other.name)
		}
	}
}

// TestInteropKeepalived runs lvsrouter (VRRP-only, so without IPVS)
// against a real keepalived 2.2.7 on a bridge: each side as master with the
// other as backup, and a crash of the master hands the VIP over.
func TestInteropKeepalived(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "keepalived")
	// handover starts both peers, the named one as master, checks it is
	// the sole master, crashes it and waits for the other to take over.
	handover := func(t *testing.T, lvsMaster bool) (lv, ka *peer) {
		a, b := interopLAN(t)
		kaState, kaPrio, lvState, lvPrio := "BACKUP", 100, "MASTER", 150
		if !lvsMaster {
			kaState, kaPrio, lvState, lvPrio = lvState, lvPrio, kaState, kaPrio
		}
		ka = startKeepalived(t, b, kaState, kaPrio)
		lv = startLvsrouter(t, a, lvState, lvPrio)
		master, backup := ka, lv
		if lvsMaster {
			master, backup = lv, ka
		}
		waitSoleMaster(t, master, backup)
		t.Logf("%s master, %s backup", master.name, backup.name)
		master.crash()
		if !waitFor(30*time.Second, func() bool { return hasAddr(backup.ns, interopVIP) }) {
			t.Fatalf("%s did not take over the VIP after %s crashed", backup.name, master.name)
		}
		t.Logf("%s crashed: %s took over the VIP", master.name, backup.name)
		return lv, ka
	}
	t.Run("lvsrouter master", func(t *testing.T) {
		t.Parallel()
		handover(t, true)
	})
	t.Run("keepalived master", func(t *testing.T) {
		t.Parallel()
		lv, _ := handover(t, false)
		lv.p.Signal(syscall.SIGTERM)
		select {
		case <-lv.p.Done():
		case <-time.After(20 * time.Second):
			t.Fatal("lvsrouter did not stop on SIGTERM")
		}
		if hasAddr(lv.ns, interopVIP) {
			t.Error("lvsrouter kept the VIP after a graceful stop")
		}
	})
	t.Run("reload raises priority", func(t *testing.T) {
		t.Parallel()
		a, b := interopLAN(t)
		ka := startKeepalived(t, b, "MASTER", 150)
		lv := startLvsrouter(t, a, "BACKUP", 100)
		waitSoleMaster(t, ka, lv)
		// A reload that raises the priority updates the instance in
		// place: it preempts keepalived.
		if err := os.WriteFile(lv.conf, fmt.Appendf(nil, interopConf, "lvsrouter", "BACKUP", 200), 0o644); err != nil {
			t.Fatal(err)
		}
		lv.p.Signal(syscall.SIGHUP)
		waitSoleMaster(t, lv, ka)
		t.Log("SIGHUP with priority 200: lvsrouter updated its instance in place and preempted keepalived")
	})
}
