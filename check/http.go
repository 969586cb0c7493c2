package check

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Lo, Hi int }

// StatusCodes is a list of accepted HTTP status codes, keepalived's
// status_code. The empty list means 200-299, keepalived's default.
type StatusCodes []StatusRange

// ParseStatusCodes parses "200-299,302 404" style lists: numbers and
// ranges separated by commas or spaces.
func ParseStatusCodes(s string) (StatusCodes, error) {
	var out StatusCodes
	for i, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		lo, hi, isRange := strings.Cut(f, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 100 || a > 999 {
			return nil, fmt.Errorf("status codes: item %d %q: bad code", i+1, f)
		}
		b := a
		if isRange {
			b, err = strconv.Atoi(hi)
			if err != nil || b < a || b > 999 {
				return nil, fmt.Errorf("status codes: item %d %q: bad range", i+1, f)
			}
		}
		out = append(out, StatusRange{a, b})
	}
	return out, nil
}

// Match reports whether code is accepted.
func (s StatusCodes) Match(code int) bool {
	if len(s) == 0 {
		return code >= 200 && code <= 299
	}
	for _, r := range s {
		if code >= r.Lo && code <= r.Hi {
			return true
		}
	}
	return false
}

// String formats s as keepalived would write it.
func (s StatusCodes) String() string {
	if len(s) == 0 {
		return "200-299"
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		if r.Lo == r.Hi {
			fmt.Fprint(&b, r.Lo)
		} else {
			fmt.Fprintf(&b, "%d-%d", r.Lo, r.Hi)
		}
	}
	return b.String()
}

// DefaultMaxBody caps the body an HTTP check reads when MaxBody is zero.
const DefaultMaxBody = 1 << 20

// maxHeader bounds the status line and headers of an HTTP response.
const maxHeader = 64 << 10

// HTTP is keepalived's HTTP_GET and SSL_GET: one GET request over a fresh
// connection, the target up when the status is accepted and, if asked, the
// body's MD5 digest or a regular expression matches.
type HTTP struct {
	// Addr is connect_ip and connect_port.
	Addr netip.AddrPort
	// Bind is bindto and bind_port; zero lets the kernel choose.
	Bind netip.AddrPort
	// Path is the URL path; "" means "/".
	Path string
	// Host is the Host header (virtualhost); "" means Addr.
	Host string
	// TLS makes this an SSL_GET.
	TLS bool
	// ServerName is sent as SNI; "" sends Host when Host is a name, and no
	// SNI otherwise.
	ServerName string
	// NoSNI sends no SNI at all (keepalived's SSL_GET without
	// enable_sni).
	NoSNI bool
	// Verify checks the server's certificate chain and name (keepalived
	// does not by default).
	Verify bool
	// RootCAs verifies the chain when Verify is set; nil uses the system's.
	RootCAs *x509.CertPool
	// Status lists the accepted status codes; empty means 200-299.
	Status StatusCodes
	// Digest, when set, is the lowercase hex MD5 of the body that the
	// target must return (keepalived's digest, as genhash prints it).
	Digest string
	// Regex, when set, must match the body.
	Regex *regexp.Regexp
	// BodyRegex, when set, is keepalived's url regex with its options
	// and offsets (regex.go), matched against the response as read
	// (status line, headers and body), as keepalived does.
	BodyRegex *BodyRegex
	// MaxBody caps the body read; a longer body fails the check. Zero
	// means DefaultMaxBody.
	MaxBody int64
	// Timeout bounds the whole check; zero means 5 s.
	Timeout time.Duration
}

// Check performs one GET.
func (c *HTTP) Check(ctx context.Context) Result {
	start := time.Now()
	ctx, conn, done, err := dial(ctx, "tcp", c.Addr, c.Bind, c.Timeout)
	if err != nil {
		return down(start, "connect", err)
	}
	defer done()

	host := c.Host
	if host == "" {
		host = c.Addr.String()
	}
	if c.TLS {
		cfg := &tls.Config{ServerName: c.serverName(host), InsecureSkipVerify: !c.Verify, RootCAs: c.RootCAs}
		if c.Verify && cfg.ServerName == "" {
			// Verify against the address when there is no name.
			cfg.ServerName = c.Addr.Addr().String()
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return down(start, "tls handshake", ioErr(ctx, err))
		}
		conn = tc
	}
	if _, err := io.WriteString(conn, c.request()); err != nil {
		return down(start, "write request", ioErr(ctx, err))
	}
	// Bound everything read from the peer, headers included, so a server
	// streaming endless headers cannot grow memory.
	return c.judge(start, io.LimitReader(conn, c.readLimit()), func(err error) error { return ioErr(ctx, err) })
}

// maxBody returns the body cap.
func (c *HTTP) maxBody() int64 {
	if c.MaxBody <= 0 {
		return DefaultMaxBody
	}
	return c.MaxBody
}

// readLimit bounds all that a check reads from the peer.
func (c *HTTP) readLimit() int64 { return 2*c.maxBody() + maxHeader }

// request returns the GET request the check sends.
func (c *HTTP) request() string {
	host := c.Host
	if host == "" {
		host = c.Addr.String()
	}
	path := c.Path
	if path == "" {
		path = "/"
	}
	return "GET " + path + " HTTP/1.0\r\nUser-Agent: lvskit-check\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"
}

// judge reads the response from r and decides the check; wrap explains
// read errors (a deadline that cut a read short, say).
func (c *HTTP) judge(start time.Time, r io.Reader, wrap func(error) error) Result {
	max := c.maxBody()
	var raw *rawResponse
	if c.BodyRegex != nil {
		// keepalived matches its regex against the response as read:
		// status line and headers, then the body.
		raw = &rawResponse{max: int(c.readLimit())}
		r = io.TeeReader(r, raw)
	}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() { br.Reset(nil); readerPool.Put(br) }()
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		return down(start, "read response", wrap(err))
	}
	defer resp.Body.Close()

	// Read the body even when nothing checks it, as keepalived does: a
	// server that cannot send its page whole is not healthy.
	var h hash.Hash
	var body []byte
	var w io.Writer = io.Discard
	if c.Digest != "" {
		h = md5.New()
		w = h
	}
	if c.Regex != nil {
		body = make([]byte, 0, 512)
		w = io.MultiWriter(w, (*sliceWriter)(&body))
	}
	buf := copyPool.Get().(*[]byte)
	n, err := io.CopyBuffer(w, io.LimitReader(resp.Body, max+1), *buf)
	copyPool.Put(buf)
	if err != nil {
		return down(start, "read body", wrap(err))
	}
	if n > max {
		return failf(start, "body exceeds %d bytes", max)
	}
	if !c.Status.Match(resp.StatusCode) {
		return failf(start, "status %d not in %s", resp.StatusCode, c.Status)
	}
	if c.Digest != "" {
		if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, c.Digest) {
			return failf(start, "digest %s, want %s", got, c.Digest)
		}
	}
	if c.Regex != nil && !c.Regex.Match(body) {
		return failf(start, "body does not match %q", c.Regex.String())
	}
	if c.BodyRegex != nil {
		if why := c.BodyRegex.judge(raw.b); why != "" {
			return failf(start, "%s", why)
		}
	}
	return up(start)
}

func (c *HTTP) serverName(host string) string {
	if c.NoSNI {
		return ""
	}
	if c.ServerName != "" {
		return c.ServerName
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	return host
}

// Pools keep a Monitor running thousands of HTTP checks a second from
// allocating fresh buffers for each.
var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	copyPool   = sync.Pool{New: func() any { b := make([]byte, 8192); return &b }}
)

type sliceWriter []byte

func (s *sliceWriter) Write(p []byte) (int, error) { *s = append(*s, p...); return len(p), nil }

// Digest returns the lowercase hex MD5 of body, the value keepalived's
// genhash prints and HTTP.Digest expects.
func Digest(body []byte) string {
	sum := md5.Sum(body)
	return hex.EncodeToString(sum[:])
}
