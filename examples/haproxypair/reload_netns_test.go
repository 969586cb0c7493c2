//go:build netns

package main

import (
	"bytes"
	"crypto/x509"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestReloadRenewsCertificate renews the HTTPS certificate and sends
// SIGHUP: haproxypair rewrites haproxy.cfg, checks it and reloads haproxy
// (master-worker, SIGUSR2); HTTPS through the VIP then presents the new
// certificate, and requests sent during the reload do not fail.
func TestReloadRenewsCertificate(t *testing.T) {
	l := newLAN(t)
	dir := t.TempDir()
	certPath, oldCert := selfSigned(t, dir)
	n := startNode(t, l.lb1, "lb1", append(fastArgs(filepath.Join(dir, "lb"), "-server", "web1="+webAddrs[0].String()+":8080"), "-cert", certPath))
	defer n.stop(t, syscall.SIGINT)
	waitSole(t, 20*time.Second, l.lb1)

	pool := x509.NewCertPool()
	pool.AddCert(oldCert)
	c := &client{ns: l.cli, pool: pool}
	peer := func() *x509.Certificate {
		_, st, err := c.get(clientSrc(0), "https://"+vip.String()+"/", 5*time.Second)
		if err != nil || st == nil || len(st.PeerCertificates) == 0 {
			t.Logf("https: %v", err)
			return nil
		}
		return st.PeerCertificates[0]
	}
	if got := peer(); got == nil || !bytes.Equal(got.Raw, oldCert.Raw) {
		t.Fatal("before the reload: not the first certificate")
	}

	_, newCert := selfSigned(t, dir) // overwrites certPath
	pool.AddCert(newCert)
	stop := make(chan struct{})
	load := startLoad(c, "http://"+vip.String()+"/reload", 10*time.Millisecond, stop)
	time.Sleep(300 * time.Millisecond)
	hup := time.Now()
	if err := n.p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !waitFor(20*time.Second, func() bool {
		got := peer()
		return got != nil && bytes.Equal(got.Raw, newCert.Raw)
	}) {
		close(stop)
		t.Fatal("after SIGHUP: HTTPS does not present the renewed certificate")
	}
	renewed := time.Since(hup)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	<-load.done
	t.Logf("SIGHUP: renewed certificate served after %v; requests during the reload ok %d, failed %d %q",
		renewed.Round(time.Millisecond), load.ok, load.failed, load.errs)
	if load.failed != 0 {
		t.Errorf("%d requests failed during the reload: %q", load.failed, load.errs)
	}
}
