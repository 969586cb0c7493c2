//go:build netns

package main

import (
	"context"
	"io"
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

// kaNode is keepalived plus haproxy run from the pair -print-keepalived
// describes, in a namespace.
type kaNode struct {
	ns      *netns.NS
	dir     string
	ka, hap *netns.Process
	vrrpPID string
}

// pairFiles writes the keepalived.conf and haproxy.cfg that
// -print-keepalived prints for args, with the vrrp_script running this
// test binary as `haproxypair -check` through a small wrapper.
func pairFiles(t *testing.T, args []string) (o *options, kaConf, hapCfg string) {
	t.Helper()
	o, _, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(o.Dir, "check")
	script := "#!/bin/sh\nHAPROXYPAIR_AS_MAIN=1 exec " + self + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := checkCommand(o)
	cmd[0] = wrapper
	ka, err := keepalivedConfig(o, cmd)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := haproxyConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	kaConf, hapCfg = filepath.Join(o.Dir, "keepalived.conf"), o.cfgPath()
	if err := os.WriteFile(kaConf, ka, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hapCfg, hc.Format(), 0o644); err != nil {
		t.Fatal(err)
	}
	return o, kaConf, hapCfg
}

func startKeepalivedPair(t *testing.T, ns *netns.NS, args []string) *kaNode {
	t.Helper()
	testenv.NeedTool(t, "keepalived")
	o, kaConf, hapCfg := pairFiles(t, args)
	k := &kaNode{ns: ns, dir: o.Dir, vrrpPID: filepath.Join(o.Dir, "vrrp.pid")}
	k.hap = ns.Start("haproxy", "-W", "-db", "-f", hapCfg)
	k.ka = ns.Start("keepalived", "-n", "-l", "-D", "-G", "-R", "-P", "-f", kaConf,
		"-p", filepath.Join(o.Dir, "keepalived.pid"), "-r", k.vrrpPID)
	t.Cleanup(func() {
		k.crash()
		k.hap.Kill()
		if t.Failed() {
			t.Logf("keepalived log:\n%s\nhaproxy log:\n%s", k.ka.Output(), k.hap.Output())
		}
	})
	return k
}

// crash kills keepalived's VRRP child first, so that it does not resign.
func (k *kaNode) crash() {
	if b, err := os.ReadFile(k.vrrpPID); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	k.ka.Kill()
}

// TestMixedPairKeepalived runs one haproxypair node against keepalived
// 2.2.7 with the keepalived.conf + haproxy.cfg pair that -print-keepalived
// gives: stopping haproxy on the master moves the VIP, with either side as
// the master.
func TestMixedPairKeepalived(t *testing.T) {
	testenv.NeedTool(t, "keepalived")
	for _, oursMaster := range []bool{true, false} {
		name := "keepalived master"
		if oursMaster {
			name = "haproxypair master"
		}
		t.Run(name, func(t *testing.T) {
			l := newLAN(t)
			dir := t.TempDir()
			oursPrio, kaPrio := 101, 100
			if !oursMaster {
				oursPrio, kaPrio = 100, 101
			}
			ours := startNode(t, l.lb1, "haproxypair", append(baseArgs(filepath.Join(dir, "lb1"), oursPrio), "-log", ""))
			ka := startKeepalivedPair(t, l.lb2, append(baseArgs(filepath.Join(dir, "lb2"), kaPrio), "-log", ""))
			master, backup := l.lb1, l.lb2
			if !oursMaster {
				master, backup = backup, master
			}
			waitSole(t, 40*time.Second, master, backup)
			c := &client{ns: l.cli}
			if _, _, err := c.get(clientSrc(0), "http://"+vip.String()+"/", 5*time.Second); err != nil {
				t.Fatal(err)
			}
			// Stop haproxy on the master.
			killed := time.Now()
			if oursMaster {
				if err := syscall.Kill(ours.haproxyPID(t), syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			} else {
				ka.hap.Kill()
			}
			if !waitFor(30*time.Second, func() bool { return backup.HasAddr(vip) && !master.HasAddr(vip) }) {
				t.Fatalf("the VIP did not move to %s after haproxy stopped on %s", backup.Name, master.Name)
			}
			moved := time.Since(killed)
			if _, _, err := c.get(clientSrc(0), "http://"+vip.String()+"/", 5*time.Second); err != nil {
				t.Fatalf("after the failover: %v", err)
			}
			// haproxypair faults as haproxy exits; keepalived's weight-0
			// chk_haproxy_running fails within its 1 s interval. Either
			// master then resigns and the peer waits its skew time (0.6 s).
			t.Logf("%s: haproxy stopped on the master, VIP moved after %v (bound: track interval 2 s × fall 1 + advert 1 s = 3 s)", name, moved.Round(time.Millisecond))
		})
	}
}

// TestPrintKeepalivedChecked checks the -print-keepalived pair with the
// real tools: keepalived -t (in a namespace with an eth0, since keepalived
// -t rejects missing interfaces) and haproxy -c.
func TestPrintKeepalivedChecked(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "keepalived")
	testenv.NeedTool(t, "haproxy")
	a, b := netns.New(t), netns.New(t)
	netns.Veth(t, a, "eth0", b, "eth0")
	dir := t.TempDir()
	cert, _ := selfSigned(t, dir)
	args := append(baseArgs(filepath.Join(dir, "lb"), 101), "-cert", cert, "-log", "/dev/log")
	_, kaConf, hapCfg := pairFiles(t, args)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := a.Command(ctx, "keepalived", "-t", "-f", kaConf).CombinedOutput(); err != nil {
		conf, _ := os.ReadFile(kaConf)
		t.Fatalf("keepalived -t: %v\n%s\n%s", err, out, conf)
	}
	if out, err := a.Command(ctx, "haproxy", "-c", "-f", hapCfg).CombinedOutput(); err != nil {
		cfg, _ := os.ReadFile(hapCfg)
		t.Fatalf("haproxy -c: %v\n%s\n%s", err, out, cfg)
	}
}

// TestKeepalivedDrainScript runs the drain.sh that -print-keepalived
// prints on a keepalived master (the pair it prints, on lb1) whose peer is
// haproxypair (lb2), under the load of TestPairPlannedFailover: no request
// fails, the long one open across the drain completes, the VIP moves to
// lb2, and the SYN drop is gone afterwards. lb1 starts with a SYN drop a
// killed drain left behind, which keepalived's notify_master removes as
// it becomes master.
func TestKeepalivedDrainScript(t *testing.T) {
	testenv.NeedTool(t, "keepalived")
	testenv.NeedTool(t, "ss")
	l := newLAN(t)
	dir := t.TempDir()
	kaArgs := append(baseArgs(filepath.Join(dir, "lb1"), 101), "-log", "", "-drain-timeout", "10s")
	o, _, err := parseFlags(kaArgs, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	table := synDrop(o).Table
	if _, err := synDrop(o).Apply(context.Background(), l.lb1.Path()); err != nil {
		t.Fatal(err)
	}
	ka := startKeepalivedPair(t, l.lb1, kaArgs)
	startNode(t, l.lb2, "lb2", append(baseArgs(filepath.Join(dir, "lb2"), 100), "-log", ""))
	waitSole(t, 40*time.Second, l.lb1, l.lb2)
	if !waitFor(5*time.Second, func() bool { return !hasTable(t, l.lb1, table) }) {
		t.Fatal("keepalived's notify_master did not remove the SYN drop left behind")
	}
	script, err := drainScript(o)
	if err != nil {
		t.Fatal(err)
	}
	scriptPath := filepath.Join(dir, "drain.sh")
	if err := os.WriteFile(scriptPath, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	loads, perReq := startDrainLoad(t, l, 0, stop)
	time.Sleep(500 * time.Millisecond)
	held, finish := perReq.holdOpen(t, "http://"+vip.String()+"/hold")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := l.lb1.Command(ctx, "sh", scriptPath)
	cmd.Env = append(os.Environ(), "KEEPALIVED_PID="+filepath.Join(o.Dir, "keepalived.pid"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	earlyMove := l.lb2.HasAddr(vip)
	for _, w := range l.web {
		close(w.release)
	}
	heldErr := finish()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("drain.sh: %v\n%s", err, out.String())
	}
	ran := time.Since(started)
	if !waitFor(10*time.Second, func() bool { return l.lb2.HasAddr(vip) && !l.lb1.HasAddr(vip) }) {
		t.Fatal("the VIP did not move to lb2")
	}
	moved := time.Since(started)
	time.Sleep(time.Second)
	t.Logf("drain.sh on the keepalived master: ran %v, VIP on lb2 after %v; long request on %s completed: %v",
		ran.Round(time.Millisecond), moved.Round(time.Millisecond), held, heldErr == nil)
	checkDrainLoad(t, stop, loads)
	if heldErr != nil {
		t.Errorf("the long request open across the drain failed: %v", heldErr)
	}
	if earlyMove {
		t.Error("the VIP moved while a request was still in flight on lb1")
	}
	if hasTable(t, l.lb1, table) {
		t.Error("drain.sh left its SYN drop behind")
	}
	select {
	case <-ka.ka.Done():
	case <-time.After(10 * time.Second):
		t.Error("keepalived still runs after drain.sh")
	}
}
