//go:build netns

package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/haproxy"
	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// The test LAN: lb1 and lb2 share the VIP, three web servers sit in their
// own namespace, the client has many source addresses for "balance source".
var (
	vip      = netip.MustParseAddr("10.88.0.100")
	lb1Addr  = netip.MustParsePrefix("10.88.0.1/24")
	lb2Addr  = netip.MustParsePrefix("10.88.0.2/24")
	webAddrs = []netip.Addr{netip.MustParseAddr("10.88.0.21"), netip.MustParseAddr("10.88.0.22"), netip.MustParseAddr("10.88.0.23")}
	webNames = []string{"web1", "web2", "web3"}
)

// clientSrc returns the client's i-th source address (10.88.0.30 up).
func clientSrc(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 88, 0, byte(30 + i%40)}) }

type lan struct {
	lb1, lb2, cli, srv *netns.NS
	web                []*webServer
}

func newLAN(t *testing.T) *lan {
	t.Helper()
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "haproxy")
	sw := netns.NewSwitch(t)
	l := &lan{lb1: netns.New(t), lb2: netns.New(t), cli: netns.New(t), srv: netns.New(t)}
	sw.Connect(l.lb1, "eth0", lb1Addr)
	sw.Connect(l.lb2, "eth0", lb2Addr)
	var cliAddrs []netip.Prefix
	for i := range 40 {
		cliAddrs = append(cliAddrs, netip.PrefixFrom(clientSrc(i), 24))
	}
	sw.Connect(l.cli, "eth0", cliAddrs...)
	var srvAddrs []netip.Prefix
	for _, a := range webAddrs {
		srvAddrs = append(srvAddrs, netip.PrefixFrom(a, 24))
	}
	sw.Connect(l.srv, "eth0", srvAddrs...)
	for _, ns := range []*netns.NS{l.lb1, l.lb2} {
		if out, err := ns.Command(context.Background(), "sysctl", "-w", "net.ipv4.ip_nonlocal_bind=1").CombinedOutput(); err != nil {
			t.Fatalf("nonlocal_bind: %v: %s", err, out)
		}
	}
	for i, name := range webNames {
		w := &webServer{t: t, ns: l.srv, name: name, addr: netip.AddrPortFrom(webAddrs[i], 8080), release: make(chan struct{})}
		w.start()
		t.Cleanup(w.stop)
		l.web = append(l.web, w)
	}
	return l
}

// webServer is a small web server answering with its name. /hold answers
// the name at once but keeps the response open until release is closed, so
// that leastconn sees the connection as busy.
type webServer struct {
	t       *testing.T
	ns      *netns.NS
	name    string
	addr    netip.AddrPort
	mu      sync.Mutex
	srv     *http.Server
	release chan struct{}
}

func (w *webServer) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.srv != nil {
		return
	}
	var ln net.Listener
	err := w.ns.Do(func() error {
		var err error
		lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1) })
		}}
		ln, err = lc.Listen(context.Background(), "tcp", w.addr.String())
		return err
	})
	if err != nil {
		w.t.Fatalf("%s: listen: %v", w.name, err)
	}
	rel := w.release
	w.srv = &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			rw.Header().Set("Content-Type", "text/plain")
			io.WriteString(rw, w.name+"\n")
			rw.(http.Flusher).Flush()
			select {
			case <-rel:
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
			return
		}
		io.WriteString(rw, w.name)
	})}
	go w.srv.Serve(ln)
}

// stop closes the listener and every connection: HAProxy's checks fail.
func (w *webServer) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.srv != nil {
		w.srv.Close()
		w.srv = nil
	}
}

// client sends requests from the client namespace.
type client struct {
	ns   *netns.NS
	pool *x509.CertPool
	// dial bounds a connection attempt; 0 means 2 s.
	dial time.Duration
	// keepAlive reuses connections (HTTP/1.1 keep-alive) instead of one
	// connection per request.
	keepAlive bool
}

func (c *client) transport(src netip.Addr) *http.Transport {
	d := &net.Dialer{Timeout: 2 * time.Second}
	if c.dial > 0 {
		d.Timeout = c.dial
	}
	if src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	return &http.Transport{
		DisableKeepAlives: !c.keepAlive,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var conn net.Conn
			err := c.ns.Do(func() error {
				var err error
				conn, err = d.DialContext(ctx, network, addr)
				return err
			})
			return conn, err
		},
		TLSClientConfig: &tls.Config{RootCAs: c.pool},
	}
}

// get fetches url from src and returns the body and the TLS state.
func (c *client) get(src netip.Addr, url string, timeout time.Duration) (string, *tls.ConnectionState, error) {
	tr := c.transport(src)
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: timeout}
	resp, err := cl.Get(url)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", nil, err
	}
	if resp.StatusCode != 200 {
		return "", nil, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return string(b), resp.TLS, nil
}

// hold opens a /hold request and returns the server's name, keeping the
// response open until the server's release channel closes.
func (c *client) hold(t *testing.T, url string) (string, func()) {
	t.Helper()
	tr := c.transport(netip.Addr{})
	cl := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line), func() { resp.Body.Close(); tr.CloseIdleConnections() }
}

// holdOpen is hold that also returns a function reading the rest of the
// response, which reports whether it arrived whole.
func (c *client) holdOpen(t *testing.T, url string) (string, func() error) {
	t.Helper()
	tr := c.transport(netip.Addr{})
	cl := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line), func() error {
		defer tr.CloseIdleConnections()
		defer resp.Body.Close()
		_, err := io.Copy(io.Discard, br)
		return err
	}
}

// selfSigned writes a PEM file with a self-signed certificate for the VIP
// and its key, as HAProxy's "crt" wants, and returns its path and the
// certificate.
func selfSigned(t *testing.T, dir string) (string, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "rgw.example.com"},
		DNSNames:              []string{"rgw.example.com"},
		IPAddresses:           []net.IP{vip.AsSlice()},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})...)
	path := filepath.Join(dir, "example.com.pem")
	if err := os.WriteFile(path, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, cert
}

// syslogSink is a unix datagram socket standing in for /dev/log.
type syslogSink struct {
	path  string
	mu    sync.Mutex
	lines []string
}

func newSyslog(t *testing.T, dir string) *syslogSink {
	t.Helper()
	s := &syslogSink{path: filepath.Join(dir, "log.sock")}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: s.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.lines = append(s.lines, string(buf[:n]))
			s.mu.Unlock()
		}
	}()
	return s
}

// find returns the lines containing every one of words.
func (s *syslogSink) find(words ...string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
next:
	for _, l := range s.lines {
		for _, w := range words {
			if !strings.Contains(l, w) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// pairNode is a haproxypair process in a namespace.
type pairNode struct {
	name string
	ns   *netns.NS
	dir  string
	p    *netns.Process
	args []string
}

// baseArgs are the flags every test node shares: the seed's VRRP instance
// and frontends on the test LAN.
func baseArgs(dir string, prio int) []string {
	args := []string{"-dir", dir, "-interface", "eth0", "-vrid", "51", "-priority", strconv.Itoa(prio),
		"-vip", vip.String(), "-http", "*:80", "-nbthread", "1", "-log-level", "debug"}
	for i, n := range webNames {
		args = append(args, "-server", fmt.Sprintf("%s=%s:8080", n, webAddrs[i]))
	}
	return args
}

func startNode(t *testing.T, ns *netns.NS, name string, args []string) *pairNode {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	n := &pairNode{name: name, ns: ns, args: args}
	for i, a := range args {
		if a == "-dir" {
			n.dir = args[i+1]
		}
	}
	n.p = ns.StartEnv([]string{"HAPROXYPAIR_AS_MAIN=1"}, self, args...)
	t.Cleanup(func() {
		n.p.Kill()
		// haproxy runs in a process group of its own.
		if b, err := os.ReadFile(filepath.Join(n.dir, "haproxy.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, n.p.Output())
		}
	})
	rt := haproxy.NewRuntime("unix", filepath.Join(n.dir, "haproxy.sock"), nil)
	defer rt.Close()
	if !waitFor(20*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := rt.ShowInfo(ctx)
		return err == nil
	}) {
		t.Fatalf("%s: haproxy's runtime API did not answer:\n%s", name, n.p.Output())
	}
	return n
}

// haproxyPID is the haproxy master's pid from its pid file.
func (n *pairNode) haproxyPID(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(n.dir, "haproxy.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		t.Fatalf("haproxy pid file: %q", b)
	}
	return pid
}

// stop signals the node and waits for it to exit.
func (n *pairNode) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := n.p.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.p.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not stop on %v", n.name, sig)
	}
}

// serverStatus returns the backend's server statuses through the node's
// runtime API.
func (n *pairNode) serverStatus() map[string]string {
	rt := haproxy.NewRuntime("unix", filepath.Join(n.dir, "haproxy.sock"), nil)
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	rows, err := rt.ShowStat(ctx)
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for _, r := range rows {
		if r.Proxy == backendName && r.Type == haproxy.StatServer {
			m[r.Name] = r.Status
		}
	}
	return m
}

func waitFor(d time.Duration, ok func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if ok() {
			return true
		}
	}
	return ok()
}

// waitSole waits until only ns holds the VIP among nss.
func waitSole(t *testing.T, d time.Duration, holder *netns.NS, others ...*netns.NS) {
	t.Helper()
	if !waitFor(d, func() bool {
		if !holder.HasAddr(vip) {
			return false
		}
		for _, o := range others {
			if o.HasAddr(vip) {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("%s did not become the sole VIP holder", holder.Name)
	}
}

// loadLoop sends one request every gap to the VIP until stop is closed
// and counts the answers and failures; longest is the longest time one
// request took.
type loadLoop struct {
	ok, failed int
	errs       []string
	longest    time.Duration
	done       chan struct{}
}

func startLoad(c *client, url string, gap time.Duration, stop <-chan struct{}) *loadLoop {
	l := &loadLoop{done: make(chan struct{})}
	tr := c.transport(netip.Addr{})
	cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	go func() {
		defer close(l.done)
		defer tr.CloseIdleConnections()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			err := func() error {
				resp, err := cl.Get(url)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					return err
				}
				if resp.StatusCode != 200 {
					return fmt.Errorf("status %d: %s", resp.StatusCode, b)
				}
				return nil
			}()
			if err != nil {
				l.failed++
				if len(l.errs) < 5 {
					l.errs = append(l.errs, err.Error())
				}
			} else {
				l.ok++
				l.longest = max(l.longest, time.Since(start))
			}
			time.Sleep(gap)
		}
	}()
	return l
}
