package check

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

var fastResponses = []string{
	"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\nextra",
	"HTTP/1.1 200\r\n\r\nclose-delimited body",
	"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nok\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 03\r\n\r\nok\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nok\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
	"HTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
	"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
	"HTTP/1.1 200 OK\r\n Folded: x\r\n\r\n",
	"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX: \x01\r\n\r\n",
	"HTTP/2.0 200 OK\r\n\r\n",
	"HTTP/1.1 20x OK\r\n\r\n",
	"HTTP/1.1 2000 OK\r\n\r\n",
	"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
	"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n01234567890123456789",
	"",
	"HTTP/1.1 200 OK\r\n",
}

// TestFastStatusAgreesWithJudge checks that the in-place parser decides,
// where it decides at all, as the net/http reader does.
func TestFastStatusAgreesWithJudge(t *testing.T) {
	decided := 0
	for _, body := range []int64{0, 10} {
		for _, s := range fastResponses {
			if agreeFast(t, &HTTP{Status: StatusCodes{{200, 299}}, MaxBody: body}, []byte(s)) {
				decided++
			}
		}
	}
	if decided < 8 {
		t.Errorf("fast path decided %d responses, want most plain ones", decided)
	}
	// A digest or a regex always takes the slow way.
	if _, ok := (&HTTP{Digest: "x"}).fastStatus([]byte(fastResponses[0]), true); ok {
		t.Error("fast path taken with a digest")
	}
}

func FuzzFastStatus(f *testing.F) {
	for _, s := range fastResponses {
		f.Add([]byte(s), int64(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, maxBody int64) {
		agreeFast(t, &HTTP{MaxBody: maxBody % 64}, b)
	})
}

// agreeFast reports whether fastStatus decided b as a whole stream,
// failing t if its verdict differs from judge's. b is also tried as the
// start of a stream: where fastStatus decides it then, judge must agree
// on b alone and on b with more bytes after it.
func agreeFast(t *testing.T, c *HTTP, b []byte) bool {
	t.Helper()
	if code, ok := c.fastStatus(b, false); ok {
		for _, tail := range []string{"", "more", "HTTP/1.1 500 Oops\r\n\r\n"} {
			agreeCode(t, c, append(b[:len(b):len(b)], tail...), code)
		}
	}
	code, ok := c.fastStatus(b, true)
	if !ok {
		return false
	}
	agreeCode(t, c, b, code)
	return true
}

// agreeCode fails t if judge's verdict on the stream b differs from the
// one fastStatus's code gives.
func agreeCode(t *testing.T, c *HTTP, b []byte, code int) {
	t.Helper()
	slow := c.judge(time.Now(), bytes.NewReader(b), func(err error) error { return err })
	fast := up(time.Now())
	if !c.Status.Match(code) {
		fast = failf(time.Now(), "status %d not in %s", code, c.Status)
	}
	if slow.Up != fast.Up || slow.Reason != fast.Reason {
		t.Errorf("%q: fast %v %q, slow %v %q", b, fast.Up, fast.Reason, slow.Up, slow.Reason)
	}
}

// TestRequestCache: a checker's request is built once and rebuilt when a
// field it comes from changes.
func TestRequestCache(t *testing.T) {
	q := newQuickState()
	c := &HTTP{Addr: netip.MustParseAddrPort("192.0.2.1:80"), Path: "/a"}
	r1, r2 := q.request(c), q.request(c)
	if &r1[0] != &r2[0] || string(r1) != c.request() {
		t.Fatalf("request %q then %q, want one built once as %q", r1, r2, c.request())
	}
	c.Path, c.Host = "/b", "example.org"
	if r := q.request(c); string(r) != c.request() {
		t.Fatalf("after a change: %q, want %q", r, c.request())
	}
}
