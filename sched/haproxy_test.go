package sched

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
)

func TestHAProxyHashes(t *testing.T) {
	// Reference values: sdbm/djb2 by their textbook definitions, crc32
	// the IEEE check value.
	if got := HashCRC32([]byte("123456789")); got != 0xcbf43926 {
		t.Errorf("crc32 = %#x", got)
	}
	if got := HashDJB2([]byte("a")); got != 5381*33+'a' {
		t.Errorf("djb2 = %d", got)
	}
	if got := HashSDBM([]byte("ab")); got != 'b'+'a'<<6+'a'<<16-'a' {
		t.Errorf("sdbm = %d", got)
	}
	if HashWT6([]byte("a")) == HashWT6([]byte("b")) {
		t.Error("wt6 does not depend on its input")
	}
	if FullHash(0) == FullHash(1) {
		t.Error("avalanche does not depend on its input")
	}
}

func TestParseBalance(t *testing.T) {
	for _, c := range []struct {
		bal, ht string
		want    Balance
	}{
		{"uri whole len 10 depth 3", "consistent djb2 avalanche", Balance{Algorithm: "uri", URIWhole: true, URILen: 10, URIDepth: 3, Consistent: true, HashFunc: "djb2", Avalanche: true, Draws: 2}},
		{"hdr(Host) use_domain_only", "", Balance{Algorithm: "hdr", Param: "Host", UseDomainOnly: true, HashFunc: "sdbm", Draws: 2}},
		{"rdp-cookie", "", Balance{Algorithm: "rdp-cookie", Param: "mstshash", HashFunc: "sdbm", Draws: 2}},
		{"random(3)", "", Balance{Algorithm: "random", Draws: 3, HashFunc: "sdbm", Consistent: true}},
		{"source", "consistent", Balance{Algorithm: "source", Consistent: true, Avalanche: true, HashFunc: "sdbm", Draws: 2}},
		{"url_param uid", "map-based crc32", Balance{Algorithm: "url_param", Param: "uid", HashFunc: "crc32", Draws: 2}},
	} {
		got, err := ParseBalance(c.bal, c.ht)
		if err != nil || got != c.want {
			t.Errorf("ParseBalance(%q, %q) = %+v, %v; want %+v", c.bal, c.ht, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "bogus", "uri depth", "uri depth x", "roundrobin x", "random(0)", "hdr(", "url_param"} {
		if _, err := ParseBalance(bad, ""); err == nil {
			t.Errorf("ParseBalance(%q) accepted", bad)
		}
	}
	if _, err := ParseBalance("source", "weird"); err == nil {
		t.Error("bad hash-type accepted")
	}
}

func TestHAProxyStaticRRMap(t *testing.T) {
	b := must(ParseBalance("static-rr", ""))
	h, err := NewHAProxy(b, []Server{{Name: "a", Weight: 1}, {Name: "b", Weight: 2}, {Name: "c", Weight: 0}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 0; i < 6; i++ {
		s, _ := h.Pick(Request{})
		got = append(got, s)
	}
	// recalc_server_map: a wins slot 0 on the tie (declared first), b the next two.
	if strings.Join(got, "") != "abbabb" {
		t.Fatalf("static-rr = %v", got)
	}
}

// haproxyCase is one backend in the differential test.
type haproxyCase struct {
	name     string
	balance  string
	hashType string
	weights  []int
	ids      []int // server "id"s, none when empty
	req      func(i int) (src netip.Addr, uri string, hdr map[string]string)
	n        int
}

func TestHAProxyDifferential(t *testing.T) {
	bin := testenv.NeedTool(t, "haproxy")
	dir := t.TempDir()

	// Real servers: each answers with its name.
	const nsrv = 5
	var srvAddrs []string
	for i := 1; i <= nsrv; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("s%d", i)
		hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, name)
		})}
		go hs.Serve(ln)
		t.Cleanup(func() { hs.Close() })
		srvAddrs = append(srvAddrs, ln.Addr().String())
	}

	srcN := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{127, 0, byte(1 + i/250), byte(2 + i%250)}) }
	lo := netip.MustParseAddr("127.0.0.1")
	uriReq := func(i int) (netip.Addr, string, map[string]string) {
		return lo, fmt.Sprintf("/dir%d/sub%d/file%d.html?q=%d&userid=u%d", i%7, i%5, i, i*31, i), nil
	}
	paramReq := func(i int) (netip.Addr, string, map[string]string) {
		if i%9 == 0 {
			return lo, fmt.Sprintf("/x?other=%d", i), nil // missing: round robin fallback
		}
		return lo, fmt.Sprintf("/x?a=1&userid=user%d&b=2", i*7), nil
	}
	hdrReq := func(i int) (netip.Addr, string, map[string]string) {
		return lo, "/", map[string]string{"X-Key": fmt.Sprintf("key-%d", i*13)}
	}
	hostReq := func(i int) (netip.Addr, string, map[string]string) {
		return lo, "/", map[string]string{"Host": fmt.Sprintf("www.site%d.example", i)}
	}
	srcReq := func(i int) (netip.Addr, string, map[string]string) { return srcN(i), "/", nil }
	cases := []haproxyCase{
		{name: "rr", balance: "roundrobin", weights: []int{1, 2, 3, 1, 5}, req: uriReq, n: 60},
		{name: "rr_eq", balance: "roundrobin", weights: []int{1, 1, 1, 1, 1}, req: uriReq, n: 12},
		{name: "first", balance: "first", weights: []int{0, 2, 1, 1, 1}, req: uriReq, n: 5},
		{name: "srr", balance: "static-rr", weights: []int{1, 2, 3, 1, 5}, req: uriReq, n: 40},
		{name: "src_map", balance: "source", weights: []int{1, 2, 1, 3, 1}, req: srcReq, n: 60},
		{name: "src_ch", balance: "source", hashType: "consistent", weights: []int{1, 2, 1, 3, 1}, req: srcReq, n: 60},
		{name: "src_av", balance: "source", hashType: "map-based sdbm avalanche", weights: []int{1, 1, 1, 1, 1}, req: srcReq, n: 40},
		{name: "uri_map", balance: "uri", weights: []int{1, 2, 3, 1, 1}, req: uriReq, n: 60},
		{name: "uri_ch", balance: "uri", hashType: "consistent", weights: []int{1, 2, 3, 1, 1}, req: uriReq, n: 60},
		{name: "uri_whole_djb2", balance: "uri whole", hashType: "map-based djb2", weights: []int{1, 1, 1, 1, 2}, req: uriReq, n: 40},
		{name: "uri_depth_wt6", balance: "uri depth 2 len 12", hashType: "consistent wt6", weights: []int{1, 1, 2, 1, 1}, req: uriReq, n: 40},
		{name: "uri_crc_av", balance: "uri", hashType: "consistent crc32 avalanche", weights: []int{1, 1, 1, 1, 1}, req: uriReq, n: 40},
		{name: "param_map", balance: "url_param userid", weights: []int{2, 1, 1, 1, 1}, req: paramReq, n: 60},
		{name: "param_ch", balance: "url_param userid", hashType: "consistent", weights: []int{2, 1, 1, 1, 1}, req: paramReq, n: 60},
		{name: "hdr_map", balance: "hdr(X-Key)", weights: []int{1, 1, 3, 1, 1}, req: hdrReq, n: 50},
		{name: "hdr_ch", balance: "hdr(X-Key)", hashType: "consistent djb2", weights: []int{1, 1, 3, 1, 1}, req: hdrReq, n: 50},
		{name: "hdr_domain", balance: "hdr(Host) use_domain_only", weights: []int{1, 1, 1, 1, 1}, req: hostReq, n: 40},
		{name: "uri_map_w0", balance: "uri", weights: []int{0, 2, 1, 0, 3}, req: uriReq, n: 40},
		{name: "uri_ch_ids", balance: "uri", hashType: "consistent", weights: []int{1, 0, 2, 1, 1}, ids: []int{17, 3, 250, 9, 42}, req: uriReq, n: 40},
		{name: "rr_w0", balance: "roundrobin", weights: []int{2, 0, 1, 3, 1}, req: uriReq, n: 30},
	}

	var backends strings.Builder
	for _, c := range cases {
		fmt.Fprintf(&backends, "backend %s\n  balance %s\n", c.name, c.balance)
		if c.hashType != "" {
			fmt.Fprintf(&backends, "  hash-type %s\n", c.hashType)
		}
		for i, w := range c.weights {
			fmt.Fprintf(&backends, "  server s%d %s weight %d", i+1, srvAddrs[i], w)
			if c.ids != nil {
				fmt.Fprintf(&backends, " id %d", c.ids[i])
			}
			backends.WriteString("\n")
		}
	}
	fe := startHAProxy(t, bin, dir, func(port int) string {
		return fmt.Sprintf("defaults\n  mode http\n  timeout connect 5s\n  timeout client 10s\n  timeout server 10s\n"+
			"frontend fe\n  bind 127.0.0.1:%d\n  use_backend %%[req.hdr(x-case)]\n%s", port, backends.String())
	})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := ParseBalance(c.balance, c.hashType)
			if err != nil {
				t.Fatal(err)
			}
			var servers []Server
			for i, w := range c.weights {
				srv := Server{Name: fmt.Sprintf("s%d", i+1), Weight: w}
				if c.ids != nil {
					srv.ID = c.ids[i]
				}
				servers = append(servers, srv)
			}
			h, err := NewHAProxy(b, servers, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < c.n; i++ {
				src, uri, hdr := c.req(i)
				got := httpVia(t, fe, src, uri, c.name, hdr)
				want, _ := h.Pick(Request{Src: src, URI: uri, Header: func(n string) string { return hdr[n] }})
				if got != want {
					t.Fatalf("request %d (src %v uri %q hdr %v): haproxy chose %s, we predicted %s", i, src, uri, hdr, got, want)
				}
			}
		})
	}
}

// startHAProxy runs haproxy with the configuration config returns for a
// frontend port, and returns the frontend's address. The port is chosen
// free beforehand; should another process take it first, haproxy exits
// and the next attempt uses another port.
func startHAProxy(t *testing.T, bin, dir string, config func(port int) string) string {
	t.Helper()
	var lastOut string
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		cfg := "global\n  nbthread 1\n" + config(port)
		f, err := os.CreateTemp(dir, "haproxy*.cfg")
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteString(cfg)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		conf := f.Name()
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, bin, "-db", "-f", conf)
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		stop := func() { cancel(); <-exited }
		fe := fmt.Sprintf("127.0.0.1:%d", port)
		if waitListening(fe, exited) {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("haproxy output:\n%s", out.String())
				}
			})
			return fe
		}
		stop()
		lastOut = out.String()
	}
	t.Fatalf("haproxy did not start:\n%s", lastOut)
	return ""
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitListening polls addr until it accepts a connection (true), the
// process exits, or about ten seconds pass.
func waitListening(addr string, exited <-chan struct{}) bool {
	for i := 0; i < 400; i++ {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return true
		}
		select {
		case <-exited:
			return false
		case <-time.After(25 * time.Millisecond):
		}
	}
	return false
}

func httpVia(t *testing.T, fe string, src netip.Addr, uri, bk string, hdr map[string]string) string {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
	tr := &http.Transport{DisableKeepAlives: true, DialContext: d.DialContext}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	req, err := http.NewRequest("GET", "http://"+fe+uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Case", bk)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	return string(body)
}

func TestHAProxyLeastconnFirstRandom(t *testing.T) {
	b := must(ParseBalance("leastconn", ""))
	h, err := NewHAProxy(b, []Server{{Name: "a", Weight: 1}, {Name: "b", Weight: 2}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pick := func() string { s, _ := h.Pick(Request{}); return s }
	if got := pick(); got != "a" {
		t.Fatalf("idle tie: %s", got)
	}
	h.SetServed("a", 1) // key 2*4096/16 = 512
	if got := pick(); got != "b" {
		t.Fatalf("after a=1: %s", got)
	}
	h.SetServed("b", 2) // 3*4096/32 = 384
	if got := pick(); got != "b" {
		t.Fatalf("after b=2: %s", got)
	}
	h.SetServed("b", 3) // 512: tie, a was repositioned first
	if got := pick(); got != "a" {
		t.Fatalf("tie: %s", got)
	}

	b = must(ParseBalance("first", ""))
	h = must(NewHAProxy(b, []Server{{Name: "x", Weight: 1, ID: 9}, {Name: "y", Weight: 0, ID: 1}, {Name: "z", Weight: 1, ID: 5}}, nil))
	if got := pick(); got != "z" {
		t.Fatalf("first: %s (lowest usable id is z)", got)
	}

	var x uint32 = 1
	r := func() uint32 { x ^= x << 13; x ^= x >> 17; x ^= x << 5; return x }
	b = must(ParseBalance("random(1)", ""))
	h = must(NewHAProxy(b, []Server{{Name: "a", Weight: 1}, {Name: "b", Weight: 3}}, &HAProxyConfig{Rand: r}))
	count := map[string]int{}
	for i := 0; i < 4000; i++ {
		count[pick()]++
	}
	// One draw lands on the ring in proportion to the weights (16 vs 48
	// nodes): about 1000 and 3000, with generous room for the ring's
	// unevenness.
	if count["a"] < 500 || count["a"] > 1600 || count["a"]+count["b"] != 4000 {
		t.Fatalf("random(1) distribution %v", count)
	}
}

// TestHAProxyRDPCookieDifferential sends RDP connection requests carrying
// "Cookie: mstshash=<user>" through a TCP-mode haproxy with "balance
// rdp-cookie"; each real server writes its name on accept.
func TestHAProxyRDPCookieDifferential(t *testing.T) {
	bin := testenv.NeedTool(t, "haproxy")
	dir := t.TempDir()
	weights := []int{1, 3, 1, 2}
	var servers strings.Builder
	for i, w := range weights {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		name := fmt.Sprintf("s%d", i+1)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					c.SetDeadline(time.Now().Add(10 * time.Second))
					io.WriteString(c, name)
					io.Copy(io.Discard, c)
				}()
			}
		}()
		fmt.Fprintf(&servers, "  server %s %s weight %d\n", name, ln.Addr(), w)
	}
	for _, ht := range []string{"", "consistent"} {
		t.Run("hash-type "+ht, func(t *testing.T) {
			htLine := ""
			if ht != "" {
				htLine = "  hash-type " + ht + "\n"
			}
			fe := startHAProxy(t, bin, dir, func(port int) string {
				return fmt.Sprintf("defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 10s\n  timeout server 10s\n"+
					"frontend rdp\n  bind 127.0.0.1:%d\n  tcp-request inspect-delay 5s\n  tcp-request content accept if RDP_COOKIE\n  default_backend bk\n"+
					"backend bk\n  balance rdp-cookie\n%s%s", port, htLine, servers.String())
			})
			b, err := ParseBalance("rdp-cookie", ht)
			if err != nil {
				t.Fatal(err)
			}
			var srv []Server
			for i, w := range weights {
				srv = append(srv, Server{Name: fmt.Sprintf("s%d", i+1), Weight: w})
			}
			h, err := NewHAProxy(b, srv, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 40; i++ {
				user := fmt.Sprintf("user%d", i*17)
				got := rdpVia(t, fe, user)
				want, _ := h.Pick(Request{RDPCookie: user})
				if got != want {
					t.Fatalf("cookie %q: haproxy chose %s, we predicted %s", user, got, want)
				}
			}
		})
	}
}

// rdpVia sends an X.224 connection request with an RDP cookie and returns
// what the chosen server wrote back.
func rdpVia(t *testing.T, fe, user string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", fe, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	cookie := "Cookie: mstshash=" + user + "\r\n"
	// TPKT (version 3, length) and the X.224 connection request header:
	// 11 bytes HAProxy skips before the cookie.
	total := 4 + 7 + len(cookie)
	pkt := []byte{3, 0, byte(total >> 8), byte(total), byte(6 + len(cookie)), 0xe0, 0, 0, 0, 0, 0}
	pkt = append(pkt, cookie...)
	if _, err := c.Write(pkt); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := io.ReadAtLeast(c, buf, 2)
	if err != nil {
		t.Fatalf("cookie %q: read: %v", user, err)
	}
	return string(buf[:n])
}
