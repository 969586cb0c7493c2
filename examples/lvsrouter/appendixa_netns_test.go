//go:build netns

package main

import (
	"bytes"
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
)

var appendixAVIP = netip.MustParseAddr("192.168.0.100")

// appendixANode is one of the seed's two HAProxy nodes: lvsrouter with the
// corrected Appendix A keepalived.conf and an haproxy, in a PID namespace
// of their own so that `killall -0 haproxy` sees only this node's haproxy,
// as on a real machine. The shell stays the namespace's init: it reaps a
// killed haproxy, which would otherwise linger as a zombie that
// `killall -0` still finds.
type appendixANode struct {
	name   string
	ns     *netns.NS
	hapCfg string
	p      *netns.Process
}

// startAppendixANode starts a node whose VRRP side is router: "lvsrouter"
// (this test binary) or "keepalived" 2.2.7, the peer measured beside it.
func startAppendixANode(t *testing.T, ns *netns.NS, router, name, state string, prio int) *appendixANode {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	seed, err := os.ReadFile("testdata/appendixa_fixed.conf")
	if err != nil {
		t.Fatal(err)
	}
	// The seed's comments: MASTER/101 on haproxy, BACKUP/100 on haproxy2.
	conf := strings.Replace(string(seed), "state MASTER", "state "+state, 1)
	conf = strings.Replace(conf, "priority 101", fmt.Sprintf("priority %d", prio), 1)
	confPath := filepath.Join(dir, "keepalived.conf")
	hapCfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	hc := "global\n    nbthread 1\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n" +
		"frontend http_web\n    bind 127.0.0.1:8080\n"
	if err := os.WriteFile(hapCfg, []byte(hc), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &appendixANode{name: name, ns: ns, hapCfg: hapCfg}
	vrrpd := []string{self, "-f", confPath}
	if router == "keepalived" {
		vrrpd = []string{"keepalived", "-n", "-l", "-D", "-G", "-R", "-P", "-f", confPath,
			"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid")}
	}
	n.p = ns.StartEnv([]string{"LVSROUTER_AS_MAIN=1"}, "unshare", append([]string{"--pid", "--fork", "--mount-proc",
		"/bin/sh", "-c", `haproxy -db -f "$1" & shift; "$@"`, "node", hapCfg}, vrrpd...)...)
	t.Cleanup(func() {
		n.p.Kill()
		if pid := n.haproxyPID(); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, n.p.Output())
		}
	})
	if !waitFor(10*time.Second, func() bool { return n.haproxyPID() > 0 }) {
		t.Fatalf("%s: haproxy did not start:\n%s", name, n.p.Output())
	}
	return n
}

// haproxyPID finds this node's haproxy by its configuration path on its
// command line, as seen from the test's PID namespace.
func (n *appendixANode) haproxyPID() int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := bytes.Split(bytes.TrimRight(cmd, "\x00"), []byte{0})
		if len(args) > 0 && filepath.Base(string(args[0])) == "haproxy" && bytes.Contains(cmd, []byte(n.hapCfg)) {
			return pid
		}
	}
	return 0
}

// TestAppendixAFailover runs the corrected Appendix A configuration with
// lvsrouter on two nodes (priorities 101 and 100, chk_haproxy weight 2):
// the first node holds the VIP (103 > 102); when its haproxy dies,
// `killall -0 haproxy`, run without a shell, fails, its priority drops to
// 101 and the VIP moves to the second node.
//
// keepalived 2.2.7 runs the same file on the same topology in the same
// run, as the reference.
func TestAppendixAFailover(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "haproxy")
	testenv.NeedTool(t, "killall")
	testenv.NeedTool(t, "unshare")
	for _, router := range []string{"lvsrouter", "keepalived"} {
		t.Run(router, func(t *testing.T) {
			if router == "keepalived" {
				testenv.NeedTool(t, "keepalived")
			}
			appendixAFailover(t, router)
		})
	}
}

func appendixAFailover(t *testing.T, router string) {
	sw := netns.NewSwitch(t)
	a, b := netns.New(t), netns.New(t)
	sw.Connect(a, "eth0", netip.MustParsePrefix("192.168.0.1/24"))
	sw.Connect(b, "eth0", netip.MustParsePrefix("192.168.0.2/24"))
	n1 := startAppendixANode(t, a, router, "haproxy", "MASTER", 101)
	n2 := startAppendixANode(t, b, router, "haproxy2", "BACKUP", 100)
	sole := func(x, y *netns.NS) bool { return x.HasAddr(appendixAVIP) && !y.HasAddr(appendixAVIP) }
	if !waitFor(30*time.Second, func() bool { return sole(a, b) }) {
		t.Fatal("the first node did not become the sole VIP holder")
	}
	killed := time.Now()
	if err := syscall.Kill(n1.haproxyPID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !waitFor(30*time.Second, func() bool { return sole(b, a) }) {
		t.Fatal("the VIP did not move when haproxy died on the master")
	}
	t.Logf("%s: haproxy killed on %s: VIP on %s after %v (bound: script interval 2 s + Master_Down_Interval 3 × 1 s + skew 0.6 s, which runs from the last 103 advert)",
		router, n1.name, n2.name, time.Since(killed).Round(time.Millisecond))
}

// TestAppendixAKeepalivedAgrees runs keepalived -t beside lvsrouter -t on
// the seed's Appendix A file: both reject the misspelt file (keepalived
// with "Unknown keyword" and no suggestion). On the corrected file
// keepalived 2.2.7 also warns that scripts run without script_security;
// the exit codes of both are logged.
func TestAppendixAKeepalivedAgrees(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "keepalived")
	a, b := netns.New(t), netns.New(t)
	netns.Veth(t, a, "eth0", b, "eth0") // keepalived -t wants the interface to exist
	for _, f := range []string{"testdata/appendixa.conf", "testdata/appendixa_fixed.conf"} {
		out, err := a.Command(t.Context(), "keepalived", "-t", "-f", f).CombinedOutput()
		kaCode := 0
		if ee, ok := err.(interface{ ExitCode() int }); ok {
			kaCode = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		var lvOut, lvErr bytes.Buffer
		lvCode := run([]string{"-t", "-f", f}, &lvOut, &lvErr)
		t.Logf("%s: keepalived -t exit %d, lvsrouter -t exit %d", f, kaCode, lvCode)
		if f == "testdata/appendixa.conf" {
			if kaCode == 0 || lvCode == 0 {
				t.Errorf("%s: keepalived -t exit %d, lvsrouter -t exit %d; both should reject it", f, kaCode, lvCode)
			}
			if !bytes.Contains(out, []byte("Unknown keyword 'vrp_script'")) {
				t.Errorf("keepalived -t output:\n%s", out)
			}
		}
	}
}
