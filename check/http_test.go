package check_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
)

const page = "<html><body>lvskit test page</body></html>\n"

// newHTTP serves a small site on loopback: / returns page, /status/N
// returns status N, /big returns n bytes, /host echoes the Host header.
func newHTTP(t *testing.T, tlsOn bool) (*httptest.Server, netip.AddrPort, chan string) {
	t.Helper()
	sni := make(chan string, 16)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, page) })
	mux.HandleFunc("/status/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.PathValue("n"), &n)
		w.WriteHeader(n)
	})
	mux.HandleFunc("/host", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Host) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		chunk := strings.Repeat("x", 64<<10)
		for range 40 { // 2.5 MiB
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tlsOn {
		srv.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			select {
			case sni <- h.ServerName:
			default:
			}
			return nil, nil
		}}
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, srv.Listener.Addr().(*net.TCPAddr).AddrPort(), sni
}

func TestHTTP(t *testing.T) {
	noLeaks(t)
	_, addr, _ := newHTTP(t, false)
	codes, err := check.ParseStatusCodes("200-299, 503")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		c      check.HTTP
		up     bool
		reason string
	}{
		{"root", check.HTTP{}, true, ""},
		{"digest", check.HTTP{Digest: check.Digest([]byte(page))}, true, ""},
		{"digest upper case", check.HTTP{Digest: strings.ToUpper(check.Digest([]byte(page)))}, true, ""},
		{"digest mismatch", check.HTTP{Digest: check.Digest([]byte("other"))}, false, "digest " + check.Digest([]byte(page))},
		{"regex", check.HTTP{Regex: regexp.MustCompile(`test\s+page`)}, true, ""},
		{"regex mismatch", check.HTTP{Regex: regexp.MustCompile(`^nope`)}, false, "does not match"},
		{"503 default", check.HTTP{Path: "/status/503"}, false, "status 503 not in 200-299"},
		{"503 listed", check.HTTP{Path: "/status/503", Status: codes}, true, ""},
		{"404", check.HTTP{Path: "/status/404", Status: codes}, false, "status 404 not in 200-299,503"},
		{"virtualhost", check.HTTP{Path: "/host", Host: "www.example.test", Regex: regexp.MustCompile(`^www\.example\.test$`)}, true, ""},
		{"oversized", check.HTTP{Path: "/big", MaxBody: 1 << 20}, false, "body exceeds 1048576 bytes"},
		{"slow", check.HTTP{Path: "/slow", Timeout: 200 * time.Millisecond}, false, "deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			c.Addr = addr
			for _, way := range checkWays {
				r := way.run(&c)
				if r.Up != tc.up {
					t.Fatalf("%s: Up = %v, want %v (%+v)", way.name, r.Up, tc.up, r)
				}
				if !tc.up {
					mustContain(t, way.name+" Reason", r.Reason, tc.reason)
				}
			}
		})
	}
}

func TestHTTPS(t *testing.T) {
	noLeaks(t)
	srv, addr, sni := newHTTP(t, true)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	for _, tc := range []struct {
		name    string
		c       check.HTTP
		up      bool
		reason  string
		wantSNI string
	}{
		{"no verify", check.HTTP{}, true, "", ""},
		{"no verify sni from host", check.HTTP{Host: "www.example.test"}, true, "", "www.example.test"},
		{"explicit sni", check.HTTP{ServerName: "sni.example.test"}, true, "", "sni.example.test"},
		{"no sni (keepalived without enable_sni)", check.HTTP{Host: "www.example.test", NoSNI: true}, true, "", ""},
		{"verify ok", check.HTTP{Verify: true, RootCAs: pool, ServerName: "example.com"}, true, "", "example.com"},
		{"verify ip", check.HTTP{Verify: true, RootCAs: pool}, true, "", ""},
		{"verify unknown ca", check.HTTP{Verify: true, ServerName: "example.com"}, false, "tls handshake", "example.com"},
		{"verify wrong name", check.HTTP{Verify: true, RootCAs: pool, ServerName: "wrong.test"}, false, "tls handshake", "wrong.test"},
		{"digest", check.HTTP{Digest: check.Digest([]byte(page))}, true, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for len(sni) > 0 {
				<-sni
			}
			c := tc.c
			c.Addr, c.TLS = addr, true
			r := c.Check(context.Background())
			if r.Up != tc.up {
				t.Fatalf("Up = %v, want %v (%+v)", r.Up, tc.up, r)
			}
			if !tc.up {
				mustContain(t, "Reason", r.Reason, tc.reason)
			}
			select {
			case got := <-sni:
				if got != tc.wantSNI {
					t.Errorf("SNI %q, want %q", got, tc.wantSNI)
				}
			default:
				t.Errorf("server saw no ClientHello")
			}
		})
	}
}

// TestHTTPBadServers feeds the checker broken servers; each must give a
// down result with a clear reason, within the timeout, leaking nothing.
func TestHTTPBadServers(t *testing.T) {
	noLeaks(t)
	readReq := func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			l, err := br.ReadString('\n')
			if err != nil || l == "\r\n" {
				return
			}
		}
	}
	for _, tc := range []struct {
		name   string
		handle func(c net.Conn)
		tls    bool
		reason string
	}{
		{"silent", func(c net.Conn) { io.Copy(io.Discard, c) }, false, "read response: context deadline exceeded"},
		{"close at once", func(c net.Conn) {}, false, "read response"},
		{"close mid headers", func(c net.Conn) { readReq(c); io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Ty") }, false, "read response: malformed MIME header"},
		{"close mid body", func(c net.Conn) {
			readReq(c)
			io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\nabc")
		}, false, "read body: unexpected EOF"},
		{"garbage status", func(c net.Conn) { readReq(c); io.WriteString(c, "SSH-2.0-OpenSSH_9.2\r\n\r\n") }, false, "malformed HTTP"},
		{"bad status code", func(c net.Conn) { readReq(c); io.WriteString(c, "HTTP/1.0 2x0 OK\r\n\r\n") }, false, "read response"},
		{"endless header", func(c net.Conn) {
			readReq(c)
			io.WriteString(c, "HTTP/1.0 200 OK\r\nX: ")
			b := []byte(strings.Repeat("a", 4096))
			for {
				if _, err := c.Write(b); err != nil {
					return
				}
			}
		}, false, "read response"},
		{"slow drip", func(c net.Conn) {
			readReq(c)
			for _, b := range []byte("HTTP/1.0 200 OK\r\n\r\nbody") {
				c.Write([]byte{b})
				time.Sleep(50 * time.Millisecond)
			}
		}, false, "deadline exceeded"},
		{"tls to plain server", func(c net.Conn) { io.WriteString(c, "HTTP/1.0 400 Bad Request\r\n\r\n") }, true, "tls handshake"},
		{"tls silent", func(c net.Conn) { io.Copy(io.Discard, c) }, true, "tls handshake: context deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serveRaw(t, tc.handle)
			c := check.HTTP{Addr: addr, TLS: tc.tls, Timeout: 300 * time.Millisecond, MaxBody: 64 << 10}
			for _, way := range checkWays {
				r := way.run(&c)
				if r.Up {
					t.Fatalf("%s: up against a broken server: %+v", way.name, r)
				}
				mustContain(t, way.name+" Reason", r.Reason, tc.reason)
				if r.Err == nil {
					t.Errorf("%s: Err is nil", way.name)
				}
			}
		})
	}
}

func TestHTTPTimeoutIsContextError(t *testing.T) {
	noLeaks(t)
	addr := serveRaw(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	for _, way := range checkWays {
		r := way.run(&check.HTTP{Addr: addr, Timeout: 100 * time.Millisecond})
		if r.Up || !errors.Is(r.Err, context.DeadlineExceeded) {
			t.Fatalf("%s: %+v, want down with DeadlineExceeded", way.name, r)
		}
	}
}

// checkWays are the two ways a check runs: Check, as a worker or a caller
// runs it, and on a Monitor's poller (PollCheck).
var checkWays = []struct {
	name string
	run  func(check.Checker) check.Result
}{
	{"Check", func(c check.Checker) check.Result { return c.Check(context.Background()) }},
	{"poller", check.PollCheck},
}

func TestParseStatusCodes(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		bad     bool
	}{
		{"200", "200", false},
		{"200-299", "200-299", false},
		{"200-299,301 302\t404", "200-299,301,302,404", false},
		{"", "200-299", false},
		{"abc", "", true},
		{"299-200", "", true},
		{"99", "", true},
		{"200-", "", true},
	} {
		c, err := check.ParseStatusCodes(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseStatusCodes(%q) = %v, want error", tc.in, c)
			}
			continue
		}
		if err != nil || c.String() != tc.out {
			t.Errorf("ParseStatusCodes(%q) = %v, %v; want %s", tc.in, c, err, tc.out)
		}
	}
	var def check.StatusCodes
	if !def.Match(200) || !def.Match(299) || def.Match(300) || def.Match(199) {
		t.Errorf("default status codes are not 200-299")
	}
}

func FuzzParseStatusCodes(f *testing.F) {
	for _, s := range []string{"200", "200-299,302", "100-999", "", "1-2", "200-", "301 302\t303"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := check.ParseStatusCodes(s)
		if err != nil {
			return
		}
		// What String prints must parse back to the same codes.
		again, err := check.ParseStatusCodes(c.String())
		if err != nil {
			t.Fatalf("reparse %q (from %q): %v", c.String(), s, err)
		}
		for code := 100; code <= 999; code++ {
			if c.Match(code) != again.Match(code) {
				t.Fatalf("%q and %q differ on %d", s, c.String(), code)
			}
		}
	})
}
