//go:build netns

package main

import (
	"bytes"
	"crypto/x509"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPairSeedAppendixA runs the seed's Appendix A architecture with two
// haproxypair nodes: priorities 101 and 100, weight 2, a track interval of
// 2 s, advert 1 s. It checks that the client reaches the servers through
// the VIP over HTTP and HTTPS (with the generated certificate), that
// HAProxy's log lines reach the syslog socket, that stopping haproxy on
// the master moves the VIP (measured, failed requests counted), and that a
// planned failover with drain (SIGTERM) loses no request.
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
	lb2 := startNode(t, l.lb2, "lb2", nodeArgs(1, 100))
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

	t.Run("planned failover with drain", func(t *testing.T) {
		// Bring lb1 back: a fresh node preempts lb2 (103 > 102).
		lb1.p.Kill()
		lb1 = startNode(t, l.lb1, "lb1", nodeArgs(0, 101))
		waitSole(t, 30*time.Second, l.lb1, l.lb2)

		stop := make(chan struct{})
		load := startLoad(c, "http://"+vip.String()+"/load", 10*time.Millisecond, stop)
		time.Sleep(500 * time.Millisecond)
		// A long request in flight on lb1 across the handover: released
		// half a second after the VIP moved, while lb1 drains.
		held, finish := c.holdOpen(t, "http://"+vip.String()+"/hold")
		termed := time.Now()
		if err := lb1.p.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		waitFor(30*time.Second, func() bool { return l.lb2.HasAddr(vip) })
		handedOver := time.Since(termed)
		time.Sleep(500 * time.Millisecond)
		for _, w := range l.web {
			close(w.release)
		}
		heldErr := finish()
		select {
		case <-lb1.p.Done():
		case <-time.After(60 * time.Second):
			t.Fatal("lb1 did not stop on SIGTERM")
		}
		stopped := time.Since(termed)
		t.Logf("held request on %s across the handover (VIP on lb2 after %v): completed: %v (err %v)",
			held, handedOver.Round(time.Millisecond), heldErr == nil, heldErr)
		if !l.lb2.HasAddr(vip) {
			t.Error("lb2 does not hold the VIP after lb1's planned stop")
		}
		time.Sleep(500 * time.Millisecond)
		close(stop)
		<-load.done
		t.Logf("SIGTERM on lb1: stopped after %v; requests ok %d, failed %d %q", stopped.Round(time.Millisecond), load.ok, load.failed, load.errs)
		// The drain loses no request that lb1 accepted before the VIP
		// moved and that finished on lb1; a short request whose
		// connection is open at the very moment the VIP moves is reset by
		// lb2 (no connection state is shared between the nodes). That
		// happens in some runs, to at most the one request in flight.
		resets := 0
		for _, e := range load.errs {
			if strings.Contains(e, "connection reset by peer") {
				resets++
			}
		}
		if load.failed > 1 || resets != load.failed {
			t.Errorf("planned failover lost %d requests: %q", load.failed, load.errs)
		}
		if !strings.Contains(lb1.p.Output(), "drain: done") {
			t.Error("lb1 did not report its drain")
		}
		_ = lb2
	})
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
