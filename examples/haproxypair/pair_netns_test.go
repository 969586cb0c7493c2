//go:build netns

package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
)

// TestPairSeedAppendixA runs the seed's Appendix A architecture with two
// haproxypair nodes: priorities 101 and 100, weight 2, a track interval of
// 2 s, advert 1 s. It checks that the client reaches the servers through
// the VIP over HTTP and HTTPS (with the generated certificate), that
// HAProxy's log lines reach the syslog socket, that stopping haproxy on
// the master moves the VIP (measured, failed requests counted).
// TestPairPlannedFailover has the planned failover.
func TestPairSeedAppendixA(t *testing.T) {
	l := newLAN(t)
	dir := t.TempDir()
	certPath, cert := selfSigned(t, dir)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	c := &client{ns: l.cli, pool: pool}

	logs := [2]*syslogSink{newSyslog(t, t.TempDir()), newSyslog(t, t.TempDir())}
	nodeArgs := func(i, prio int) []string {
		return append(baseArgs(filepath.Join(dir, "lb"+string(rune('1'+i))), prio),
			"-cert", certPath, "-log", logs[i].path, "-check-inter", "500ms", "-drain-timeout", "10s")
	}
	lb1 := startNode(t, l.lb1, "lb1", nodeArgs(0, 101))
	startNode(t, l.lb2, "lb2", nodeArgs(1, 100))
	waitSole(t, 30*time.Second, l.lb1, l.lb2)

	t.Run("http", func(t *testing.T) {
		seen := map[string]int{}
		for i := range 6 {
			body, _, err := c.get(clientSrc(0), "http://"+vip.String()+"/seed/"+string(rune('a'+i)), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			seen[body]++
		}
		// roundrobin over three equal servers: each answers twice.
		for _, n := range webNames {
			if seen[n] != 2 {
				t.Errorf("roundrobin over 6 requests: %v, want each server twice", seen)
				break
			}
		}
	})

	t.Run("https", func(t *testing.T) {
		body, st, err := c.get(clientSrc(1), "https://"+vip.String()+"/tls", 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if st == nil || len(st.PeerCertificates) == 0 || !bytes.Equal(st.PeerCertificates[0].Raw, cert.Raw) {
			t.Fatal("HTTPS through the VIP did not present the generated certificate")
		}
		t.Logf("HTTPS answered by %s with certificate %s", body, st.PeerCertificates[0].Subject)
	})

	t.Run("syslog", func(t *testing.T) {
		var lines, tls []string
		waitFor(5*time.Second, func() bool {
			lines = logs[0].find("http_web", "rgw/", "GET /seed/a")
			tls = logs[0].find("rgw-https", "GET /tls")
			return len(lines) > 0 && len(tls) > 0
		})
		if len(lines) == 0 {
			t.Fatalf("no HAProxy log line for GET /seed/a on the syslog socket; got %q", logs[0].find(""))
		}
		if len(tls) == 0 {
			t.Errorf("no log line for the HTTPS request")
		}
		t.Logf("log line: %s", strings.TrimSpace(lines[0]))
	})

	t.Run("haproxy stops on the master", func(t *testing.T) {
		stop := make(chan struct{})
		load := startLoad(c, "http://"+vip.String()+"/load", 20*time.Millisecond, stop)
		time.Sleep(500 * time.Millisecond)
		killed := time.Now()
		if err := syscall.Kill(lb1.haproxyPID(t), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if !waitFor(30*time.Second, func() bool { return l.lb2.HasAddr(vip) }) {
			close(stop)
			t.Fatal("the VIP did not move to lb2")
		}
		moved := time.Since(killed)
		time.Sleep(time.Second)
		close(stop)
		<-load.done
		// Theory: haproxy's exit faults lb1 at the next track file read
		// (<= 10 ms); lb1 resigns with a priority 0 advert and lb2 takes
		// over after its skew time (256-102)/256 × 1 s = 602 ms. The
		// issue's bound is track interval × fall + one advert = 3 s.
		t.Logf("haproxy killed on lb1: VIP on lb2 after %v (theory <= 10 ms + 602 ms; bound 2 s × 1 + 1 s = 3 s); requests ok %d, failed %d %q",
			moved.Round(time.Millisecond), load.ok, load.failed, load.errs)
		if l.lb1.HasAddr(vip) {
			t.Error("lb1 still holds the VIP")
		}
	})
}

// TestPairPlannedFailover stops the master with SIGTERM under load: a
// client opening a connection per request and a keep-alive client send
// requests back to back, and a long request is open on the master. The
// drain must fail none of them: new connections are held off (SYNs
// dropped) until the requests in flight, the long one included, have
// ended on the master; only then does the VIP move, and the held-off
// clients' retransmitted SYNs reach the new master. The drain must leave
// no SYN drop behind.
func TestPairPlannedFailover(t *testing.T) {
	l := newLAN(t)
	lb1, o := startDrainPair(t, l, "10s", "-check-inter", "500ms")
	table := synDrop(o).Table

	stop := make(chan struct{})
	// Back to back: every moment of the drain has a request on its way.
	loads, perReq := startDrainLoad(t, l, 0, stop)
	time.Sleep(500 * time.Millisecond)
	held, finish := perReq.holdOpen(t, "http://"+vip.String()+"/hold")
	termed := time.Now()
	if err := lb1.p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stoppedAfter := make(chan time.Duration, 1)
	go func() {
		select {
		case <-lb1.p.Done():
			stoppedAfter <- time.Since(termed)
		case <-time.After(60 * time.Second):
			stoppedAfter <- -1
		}
	}()
	// The long request ends 200 ms into the drain; until then the VIP
	// must stay on lb1.
	time.Sleep(200 * time.Millisecond)
	earlyMove := l.lb2.HasAddr(vip)
	released := time.Since(termed)
	for _, w := range l.web {
		close(w.release)
	}
	heldErr := finish()
	if !waitFor(30*time.Second, func() bool { return l.lb2.HasAddr(vip) }) {
		t.Fatal("the VIP did not move to lb2")
	}
	handedOver := time.Since(termed)
	stopped := <-stoppedAfter
	if stopped < 0 {
		t.Fatal("lb1 did not stop on SIGTERM")
	}
	time.Sleep(time.Second)
	t.Logf("SIGTERM on lb1: long request on %s released after %v, completed: %v; VIP on lb2 after %v; lb1 stopped after %v",
		held, released.Round(time.Millisecond), heldErr == nil, handedOver.Round(time.Millisecond), stopped.Round(time.Millisecond))
	checkDrainLoad(t, stop, loads)
	if heldErr != nil {
		t.Errorf("the long request open across the drain failed: %v", heldErr)
	}
	if earlyMove {
		t.Error("the VIP moved while a request was still in flight on lb1")
	}
	if l.lb1.HasAddr(vip) || !l.lb2.HasAddr(vip) {
		t.Error("lb2 is not the sole VIP holder after lb1's planned stop")
	}
	var drainLog []string
	for _, line := range strings.Split(lb1.p.Output(), "\n") {
		if strings.Contains(line, "drain: ") {
			drainLog = append(drainLog, line)
		}
	}
	t.Logf("lb1:\n%s", strings.Join(drainLog, "\n"))
	if !strings.Contains(lb1.p.Output(), "drain: done") {
		t.Error("lb1 did not report its drain")
	}
	if hasTable(t, l.lb1, table) {
		t.Error("lb1 left its SYN drop behind")
	}
}

// TestPairDrainTimeout: a request longer than -drain-timeout (1 s) does
// not hold the VIP longer: haproxy is killed after 1 s, the VIP moves to
// lb2, requests go on there, and the SYN drop is gone.
func TestPairDrainTimeout(t *testing.T) {
	l := newLAN(t)
	lb1, o := startDrainPair(t, l, "1s")
	c := &client{ns: l.cli, dial: 10 * time.Second}
	held, finish := c.holdOpen(t, "http://"+vip.String()+"/hold")
	termed := time.Now()
	if err := lb1.p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lb1.p.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("lb1 did not stop on SIGTERM")
	}
	stopped := time.Since(termed)
	if !waitFor(10*time.Second, func() bool { return l.lb2.HasAddr(vip) }) {
		t.Fatal("the VIP did not move to lb2")
	}
	moved := time.Since(termed)
	body, _, err := c.get(netip.Addr{}, "http://"+vip.String()+"/after", 10*time.Second)
	if err != nil {
		t.Fatalf("a request after the drain: %v", err)
	}
	for _, w := range l.web {
		close(w.release)
	}
	heldErr := finish()
	t.Logf("long request on %s across a 1 s drain timeout: lb1 stopped after %v, VIP on lb2 after %v; the long request: %v; next request answered by %s",
		held, stopped.Round(time.Millisecond), moved.Round(time.Millisecond), heldErr, body)
	if stopped < time.Second {
		t.Errorf("lb1 stopped after %v, before its 1 s drain timeout", stopped)
	}
	if !strings.Contains(lb1.p.Output(), "killing it") {
		t.Error("lb1 did not report killing haproxy at the drain timeout")
	}
	if heldErr == nil {
		t.Error("the long request completed although haproxy was killed under it")
	}
	if hasTable(t, l.lb1, synDrop(o).Table) {
		t.Error("lb1 left its SYN drop behind")
	}
}

// TestPairCrashDuringDrain kills lb1 (SIGKILL) while it drains, leaving
// its SYN drop behind: lb2 takes the VIP over when lb1's adverts stop,
// and lb1, started again, removes the SYN drop, takes the VIP back (103 >
// 102) and answers new connections.
func TestPairCrashDuringDrain(t *testing.T) {
	l := newLAN(t)
	lb1, o := startDrainPair(t, l, "20s")
	table := synDrop(o).Table
	c := &client{ns: l.cli, dial: 10 * time.Second}
	_, finish := c.holdOpen(t, "http://"+vip.String()+"/hold")
	defer finish()
	if err := lb1.p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { return strings.Contains(lb1.p.Output(), "drain: new connections held off") }) {
		t.Fatal("lb1 did not start draining")
	}
	lb1.p.Kill()
	if !hasTable(t, l.lb1, table) {
		t.Fatal("the killed drain left no SYN drop; the test shows nothing")
	}
	// A killed node leaves the VIP's address behind too (so does a killed
	// keepalived); the restart removes it.
	if !waitFor(30*time.Second, func() bool { return l.lb2.HasAddr(vip) }) {
		t.Fatal("lb2 did not take the VIP over from the killed lb1")
	}
	lb1 = startNode(t, l.lb1, "lb1", lb1.args)
	waitSole(t, 30*time.Second, l.lb1, l.lb2)
	if hasTable(t, l.lb1, table) || !strings.Contains(lb1.p.Output(), "removed the SYN drop a previous run left behind") {
		t.Error("lb1 did not remove the SYN drop its killed run left behind")
	}
	// A client that does not retransmit its SYN for long finds the VIP.
	quick := &client{ns: l.cli, dial: 500 * time.Millisecond}
	if _, _, err := quick.get(netip.Addr{}, "http://"+vip.String()+"/back", 5*time.Second); err != nil {
		t.Errorf("lb1 back as master: %v", err)
	}
}

// startDrainPair starts lb1 (priority 101, the master) and lb2 (100) with
// -drain-timeout d and the extra flags, and returns lb1 and its options.
func startDrainPair(t *testing.T, l *lan, d string, extra ...string) (*pairNode, *options) {
	t.Helper()
	dir := t.TempDir()
	args := func(name string, prio int) []string {
		return append(append(baseArgs(filepath.Join(dir, name), prio), "-log", "", "-drain-timeout", d), extra...)
	}
	o, _, err := parseFlags(args("lb1", 101), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	lb1 := startNode(t, l.lb1, "lb1", args("lb1", 101))
	startNode(t, l.lb2, "lb2", args("lb2", 100))
	waitSole(t, 30*time.Second, l.lb1, l.lb2)
	return lb1, o
}

// startDrainLoad starts two load clients sending to the VIP every gap
// until stop closes, one opening a connection per request and one
// keeping its connection alive, and returns them and the first client.
// Their dial timeouts are as long as real clients': a held-off SYN is
// retransmitted after 1 s, then 3 s.
func startDrainLoad(t *testing.T, l *lan, gap time.Duration, stop <-chan struct{}) ([]*loadLoop, *client) {
	t.Helper()
	url := "http://" + vip.String() + "/load"
	perReq := &client{ns: l.cli, dial: 10 * time.Second}
	keep := &client{ns: l.cli, dial: 10 * time.Second, keepAlive: true}
	if _, _, err := perReq.get(netip.Addr{}, url, 5*time.Second); err != nil {
		t.Fatalf("before the drain: %v", err)
	}
	return []*loadLoop{startLoad(perReq, url, gap, stop), startLoad(keep, url, gap, stop)}, perReq
}

// checkDrainLoad stops the clients of startDrainLoad, logs what they saw
// and fails the test for every failed request.
func checkDrainLoad(t *testing.T, stop chan struct{}, loads []*loadLoop) {
	t.Helper()
	close(stop)
	for i, name := range []string{"connection per request", "keep-alive"} {
		<-loads[i].done
		t.Logf("%s: requests ok %d, failed %d %q; longest request %v", name, loads[i].ok, loads[i].failed, loads[i].errs, loads[i].longest.Round(time.Millisecond))
		if loads[i].failed != 0 {
			t.Errorf("%s: the drain failed %d requests: %q", name, loads[i].failed, loads[i].errs)
		}
	}
}

// hasTable reports whether the namespace has an nftables table of that
// name.
func hasTable(t *testing.T, ns *netns.NS, name string) bool {
	t.Helper()
	out, err := ns.Command(context.Background(), "nft", "list", "tables").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list tables: %v: %s", err, out)
	}
	return strings.Contains(string(out), " "+name+"\n")
}

// TestPairMinServers checks the weight path: haproxy runs but fewer than
// -min-servers servers are UP. lb1 (101, wants 3 servers) and lb2 (100,
// wants 2) both start healthy (103 > 102); when web3 goes down, lb1 drops
// to 101 and lb2 (102) preempts it after its Master_Down_Interval. When
// web3 returns, lb1 (103) takes the VIP back.
func TestPairMinServers(t *testing.T) {
	l := newLAN(t)
	dir := t.TempDir()
	args := func(name string, prio, min int) []string {
		return append(baseArgs(filepath.Join(dir, name), prio), "-log", "", "-min-servers", strconv.Itoa(min),
			"-check-inter", "200ms", "-check-fall", "2", "-check-rise", "1", "-track-interval", "500ms")
	}
	startNode(t, l.lb1, "lb1", args("lb1", 101, 3))
	startNode(t, l.lb2, "lb2", args("lb2", 100, 2))
	waitSole(t, 30*time.Second, l.lb1, l.lb2)

	l.web[2].stop()
	down := time.Now()
	waitSole(t, 30*time.Second, l.lb2, l.lb1)
	t.Logf("web3 down: VIP on lb2 after %v (bound: check fall 2 × 200 ms + track 500 ms + Master_Down_Interval 3.6 s, which runs from the last 103 advert)",
		time.Since(down).Round(time.Millisecond))

	l.web[2].start()
	up := time.Now()
	waitSole(t, 30*time.Second, l.lb1, l.lb2)
	t.Logf("web3 back: VIP on lb1 after %v (bound: check rise 1 × 200 ms + track 500 ms + Master_Down_Interval 3.6 s)",
		time.Since(up).Round(time.Millisecond))
}
