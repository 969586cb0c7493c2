//go:build netns

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/mdlayher/genetlink"
)

// vrrpOnlyConf is a director's whole configuration, VRRP and a virtual
// server, as both peers read it; run with -P only the VRRP part matters.
const vrrpOnlyConf = `global_defs {
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

virtual_server 10.77.0.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.77.0.11 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`

// genetlinkSockets counts the generic netlink sockets (IPVS's family is a
// generic netlink one) that process pid holds: its socket descriptors
// matched by inode with /proc/PID/net/netlink, whose Eth column is the
// netlink protocol, 16 for NETLINK_GENERIC.
func genetlinkSockets(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/netlink", pid))
	if err != nil {
		t.Fatal(err)
	}
	generic := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		if fs := strings.Fields(line); len(fs) >= 10 && fs[1] == "16" {
			generic[fs[9]] = true
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") && generic[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] {
			n++
		}
	}
	return n
}

// TestVRRPOnlyOnHostWithKeepalived runs lvsrouter -P on this host, whose
// kernel has no IPVS, against keepalived 2.2.7 -P, both on a configuration
// with a virtual server: they elect keepalived (priority 150); when it
// crashes lvsrouter takes the VIP; when it comes back it preempts and
// lvsrouter gives the VIP back. lvsrouter keeps running throughout and no
// generic netlink socket (IPVS's) is ever seen among its descriptors.
func TestVRRPOnlyOnHostWithKeepalived(t *testing.T) {
	testenv.NeedRoot(t)
	bin := testenv.NeedTool(t, "keepalived")
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil {
		t.Log("this kernel has IPVS: the test still shows that -P never opens its socket")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The socket census sees a generic netlink socket when there is one.
	gc, err := genetlink.Dial(nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := genetlinkSockets(t, os.Getpid()); n == 0 {
		t.Fatal("genetlinkSockets does not see the test's own generic netlink socket")
	}
	gc.Close()

	a, b := interopLAN(t)
	dir := t.TempDir()
	lvConf := filepath.Join(dir, "lvsrouter.conf")
	mustWrite(t, lvConf, fmt.Appendf(nil, vrrpOnlyConf, "lvsrouter", "BACKUP", 100))
	lv := &peer{name: "lvsrouter", ns: a, p: a.StartEnv([]string{"LVSROUTER_AS_MAIN=1"}, self,
		"-P", "-l", "-f", lvConf, "-p", filepath.Join(dir, "l.pid"), "-r", filepath.Join(dir, "lv.pid"), "-c", filepath.Join(dir, "lc.pid"))}
	t.Cleanup(func() {
		lv.p.Kill()
		if t.Failed() {
			t.Logf("lvsrouter log:\n%s", lv.p.Output())
		}
	})
	startKA := func(round int) *peer {
		t.Helper()
		d := filepath.Join(dir, "ka"+strconv.Itoa(round))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(d, "keepalived.conf")
		mustWrite(t, conf, fmt.Appendf(nil, vrrpOnlyConf, "keepalived", "MASTER", 150))
		p := &peer{name: "keepalived", ns: b, vrrpPID: filepath.Join(d, "vrrp.pid"), confPath: conf}
		p.p = b.Start(bin, "-n", "-l", "-D", "-G", "-R", "-P", "-f", conf, "-p", filepath.Join(d, "k.pid"), "-r", p.vrrpPID)
		t.Cleanup(func() {
			p.crash()
			if t.Failed() {
				t.Logf("keepalived (round %d) log:\n%s", round, p.p.Output())
			}
		})
		return p
	}
	// alive fails the test if lvsrouter exited or opened a generic netlink
	// socket.
	alive := func(step string) {
		t.Helper()
		select {
		case <-lv.p.Done():
			t.Fatalf("%s: lvsrouter -P exited", step)
		default:
		}
		if n := genetlinkSockets(t, lv.p.Cmd.Process.Pid); n != 0 {
			t.Fatalf("%s: lvsrouter -P holds %d generic netlink sockets", step, n)
		}
	}
	ka := startKA(1)
	waitSoleMaster(t, ka, lv)
	alive("keepalived master")
	t.Log("keepalived (150) master, lvsrouter -P (100) backup")

	ka.crash()
	waitSoleMaster(t, lv, ka)
	alive("keepalived crashed")
	t.Log("keepalived crashed: lvsrouter -P took the VIP")

	ka = startKA(2)
	waitSoleMaster(t, ka, lv)
	alive("keepalived back")
	t.Log("keepalived back: it preempted, lvsrouter -P released the VIP")
	time.Sleep(time.Second)
	alive("end")
}
