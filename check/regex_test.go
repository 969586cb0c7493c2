package check_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
)

func TestCompileBodyRegexRefusesWhatRE2CannotDo(t *testing.T) {
	for _, o := range []string{"extended", "ucp", "dupnames", "auto_callout", "alt_bsux"} {
		if _, err := check.CompileBodyRegex("x", []string{o}); !errors.Is(err, check.ErrRegexOption) {
			t.Errorf("option %s: err %v, want ErrRegexOption", o, err)
		}
	}
	if _, err := check.CompileBodyRegex("x", []string{"no_such_option"}); !errors.Is(err, check.ErrRegexOption) {
		t.Errorf("unknown option: err %v, want ErrRegexOption", err)
	}
	// Back-references and look-ahead are PCRE only: refused, not
	// silently matched differently.
	for _, p := range []string{`(a)\1`, `a(?=b)`, `a(?<=b)`} {
		if _, err := check.CompileBodyRegex(p, nil); err == nil {
			t.Errorf("pattern %q compiled", p)
		}
	}
	for _, o := range []string{"caseless", "dotall", "multiline", "ungreedy", "dollar_endonly", "firstline", "utf", "no_auto_capture", "use_offset_limit"} {
		if _, err := check.CompileBodyRegex("x", []string{o}); err != nil {
			t.Errorf("option %s: %v", o, err)
		}
	}
}

func TestBodyRegexMatchesAsPCRE2(t *testing.T) {
	cases := []struct {
		pattern  string
		options  []string
		min, max int
		subject  string
		want     bool
	}{
		{`Status: OK`, nil, 0, -1, "HTTP/1.0 200 OK\r\n\r\nStatus: OK", true},
		{`status: ok`, nil, 0, -1, "Status: OK", false},
		{`status: ok`, []string{"caseless"}, 0, -1, "Status: OK", true},
		{`a.b`, nil, 0, -1, "a\nb", false},
		{`a.b`, []string{"dotall"}, 0, -1, "a\nb", true},
		{`^b`, nil, 0, -1, "a\nb", false},
		{`^b`, []string{"multiline"}, 0, -1, "a\nb", true},
		// PCRE2's $ matches before a newline that ends the subject,
		// unless dollar_endonly.
		{`OK$`, nil, 0, -1, "OK\n", true},
		{`OK$`, []string{"dollar_endonly"}, 0, -1, "OK\n", false},
		{`OK$`, nil, 0, -1, "OK\n\n", false},
		// Offsets bound where the match starts, both ends included.
		{`Status`, nil, 0, 6, "<html>Status", true},
		{`Status`, nil, 0, 5, "<html>Status", false},
		{`Status`, nil, 6, -1, "<html>Status", true},
		{`Status`, nil, 7, -1, "<html>Status", false},
		{`x`, nil, 20, -1, "short", false},
		// firstline: the match starts on the first line.
		{`b`, []string{"firstline"}, 0, -1, "a\nb", false},
		{`b`, []string{"firstline"}, 0, -1, "ab\nb", true},
		{`a+?`, []string{"ungreedy"}, 0, -1, "aaa", true},
	}
	for _, c := range cases {
		b, err := check.CompileBodyRegex(c.pattern, c.options)
		if err != nil {
			t.Fatalf("%q: %v", c.pattern, err)
		}
		b.MinOffset, b.MaxOffset = c.min, c.max
		if got := b.Matches([]byte(c.subject)); got != c.want {
			t.Errorf("%q %v [%d,%d] on %q: %v, want %v", c.pattern, c.options, c.min, c.max, c.subject, got, c.want)
		}
	}
}

// serveResponse answers every connection on loopback with response.
func serveResponse(t *testing.T, response string) *check.HTTP {
	t.Helper()
	addr := serveRaw(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		c.Read(buf)
		io.WriteString(c, response)
	})
	return &check.HTTP{Addr: addr, Timeout: 2 * time.Second}
}

func TestHTTPBodyRegexAgainstLoopbackServer(t *testing.T) {
	const body = "<html>Status: OK</html>"
	resp := fmt.Sprintf("HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	cases := []struct {
		name     string
		pattern  string
		noMatch  bool
		min, max int
		up       bool
	}{
		{"matches the body", `Status: OK`, false, 0, -1, true},
		{"does not match", `Status: FAILED`, false, 0, -1, false},
		{"regex_no_match and a match fails", `Status: OK`, true, 0, -1, false},
		{"regex_no_match and no match passes", `Status: FAILED`, true, 0, -1, true},
		// keepalived's subject is the response as read: the status line
		// and headers count, and offsets start at the status line.
		{"headers are part of the subject", `^HTTP/1\.0 200`, false, 0, -1, true},
		{"offsets count from the status line", `Status`, false, 0, len(resp) - len(body) + 6, true},
		{"a match past regex_max_offset fails", `Status`, false, 0, len(resp) - len(body) + 5, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := serveResponse(t, resp)
			b, err := check.CompileBodyRegex(c.pattern, nil)
			if err != nil {
				t.Fatal(err)
			}
			b.NoMatch, b.MinOffset, b.MaxOffset = c.noMatch, c.min, c.max
			h.BodyRegex = b
			r := h.Check(t.Context())
			if r.Up != c.up {
				t.Fatalf("up %v (%s), want %v", r.Up, r.Reason, c.up)
			}
		})
	}
}

// FuzzBodyRegex compiles keepalived regexes with options and matches them
// against bodies: no panic, and NoMatch is the exact inverse.
func FuzzBodyRegex(f *testing.F) {
	f.Add("Status: (OK|FINE)", "caseless", []byte("HTTP/1.0 200 OK\r\n\r\nstatus: ok\n"), 0, -1)
	f.Add("OK$", "dollar_endonly", []byte("OK\n"), 0, 10)
	f.Add("^b", "multiline firstline", []byte("a\nb"), 1, 2)
	f.Add("(a)\\1", "", []byte("aa"), 0, -1)
	f.Fuzz(func(t *testing.T, pattern, options string, body []byte, min, max int) {
		b, err := check.CompileBodyRegex(pattern, strings.Fields(options))
		if err != nil {
			return
		}
		b.MinOffset, b.MaxOffset = max0(min), max
		m := b.Matches(body)
		b.NoMatch = true
		if b.Matches(body) != m {
			t.Fatal("Matches depends on NoMatch")
		}
	})
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}
