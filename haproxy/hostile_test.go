package haproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/haproxytest"
	"github.com/lvskit/lvskit/internal/testenv"
)

// TestParseFileRefusesDevices: /dev/zero would be read forever; it is
// refused by type, with its path, before a byte is read.
func TestParseFileRefusesDevices(t *testing.T) {
	for _, path := range []string{"/dev/zero", "/dev/null", os.TempDir()} {
		if _, err := os.Stat(path); err != nil {
			continue // not on this system
		}
		_, err := ParseFile(path)
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), path) {
			t.Errorf("ParseFile(%s) = %v, want ErrNotRegular naming the path", path, err)
		}
	}
}

// TestParseFileSizeCap: a file over the cap is refused; the cap is read
// from ParserConfig, and a file at the cap is accepted.
func TestParseFileSizeCap(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.cfg")
	line := "# padding padding padding padding\n"
	data := []byte(strings.Repeat(line, 1024/len(line)+1))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ParseFileWith(path, &ParserConfig{MaxFileSize: 1024})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), path) {
		t.Fatalf("ParseFileWith(%d bytes, max 1024) = %v, want ErrTooLarge", len(data), err)
	}
	c, err := ParseFileWith(path, &ParserConfig{MaxFileSize: int64(len(data))})
	if err != nil || string(c.Format()) != string(data) {
		t.Fatalf("ParseFileWith at the cap = %v", err)
	}
	if _, err := ParseFile(filepath.Join(dir, "missing.cfg")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

// TestValidateFindingsCapped: a file with 10,000 bad lines and 10,000
// unknown keywords gives at most maxFindings+1 errors and warnings, the
// last saying how many more there were.
func TestValidateFindingsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("backend b\n")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&b, "  mode bogus%d\n  frob%d x\n", i, i)
	}
	c, err := Parse("big.cfg", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	warns, err := c.Check(nil)
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Check = %v", err)
	}
	for name, l := range map[string]ErrorList{"errors": list, "warnings": warns} {
		if len(l) != maxFindings+1 {
			t.Errorf("%d %s, want %d", len(l), name, maxFindings+1)
			continue
		}
		last := l[len(l)-1]
		if !errors.Is(last, ErrTooManyErrors) || !strings.Contains(last.Msg, "9900 more") {
			t.Errorf("last of %s = %v", name, last)
		}
	}
	if n := len(list.Error()); n > (maxFindings+1)*(maxMsg+64) {
		t.Errorf("error text is %d bytes", n)
	}
}

// TestValidateEscapesControlCharacters: words from the file are shown
// with control characters escaped, and long ones are cut.
func TestValidateEscapesControlCharacters(t *testing.T) {
	in := "backend b\n  mode \x1b[2J\x07" + strings.Repeat("A", 5000) + "\n  pwn\x1b]0;x\x07 y\n"
	c, err := Parse("esc.cfg", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	warns, err := c.Check(nil)
	if err == nil || warns == nil {
		t.Fatalf("Check = %v, %v", warns, err)
	}
	for _, text := range []string{err.Error(), warns.Error()} {
		for i := 0; i < len(text); i++ {
			if c := text[i]; (c < 0x20 && c != '\n') || c == 0x7f {
				t.Fatalf("raw control byte %#x in %q", c, text)
			}
		}
		if !strings.Contains(text, `\x1b`) {
			t.Errorf("escape not shown as \\x1b: %q", text)
		}
		if len(text) > maxMsg+64 {
			t.Errorf("message is %d bytes: %.100q...", len(text), text)
		}
	}
}

// TestUnknownKeywordWarned: HAProxy rejects a keyword it does not know;
// Check warns about it at its place, and Validate, which is never
// stricter than the HAProxy version at hand, does not fail on it.
func TestUnknownKeywordWarned(t *testing.T) {
	cfg := "global\n  maxconn 100\n  frobnicate 1\ndefaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n  blorp\nfrontend f\n  bind 127.0.0.1:18090\n  use-magic yes\n  default_backend b\nbackend b\n    server-magic 1\n  no option httplog\n  server s 127.0.0.1:1\n  frob-env \"${HOME}\"\n  \"${KW}\" x\n"
	c, err := Parse("u.cfg", []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	warns, err := c.Check(nil)
	if err != nil {
		t.Fatalf("Check error: %v", err)
	}
	want := []string{
		"u.cfg:3:3: unknown keyword: unknown keyword 'frobnicate' in 'global' section",
		"u.cfg:9:3: unknown keyword: unknown keyword 'blorp' in 'defaults' section",
		"u.cfg:12:3: unknown keyword: unknown keyword 'use-magic' in 'frontend' section",
		"u.cfg:15:5: unknown keyword: unknown keyword 'server-magic' in 'backend' section",
		"u.cfg:18:3: unknown keyword: unknown keyword 'frob-env' in 'backend' section",
	}
	if len(warns) != len(want) {
		t.Fatalf("warnings:\n%v", warns)
	}
	for i, w := range warns {
		if !strings.HasPrefix(w.Error(), want[i]) || !errors.Is(w, ErrUnknownKeyword) {
			t.Errorf("warning %d = %q, want prefix %q", i, w.Error(), want[i])
		}
	}
	if bin, ok := haproxyBin(); ok {
		out, herr := haproxyCheck(t, bin, []byte(cfg))
		for _, kw := range []string{"frobnicate", "blorp", "use-magic", "server-magic", "frob-env"} {
			if herr == nil || !strings.Contains(out, "unknown keyword '"+kw+"'") {
				t.Errorf("haproxy -c does not reject %s:\n%s", kw, out)
			}
		}
	}
}

func haproxyBin() (string, bool) {
	p, err := exec.LookPath("haproxy")
	return p, err == nil
}

// TestKeywordsKnownToHAProxy checks the keyword tables against the
// installed HAProxy: none of them may be one it calls unknown (which
// would silence a warning). Each keyword is followed by a sentinel line
// that HAProxy must report, which proves it parsed that far.
func TestKeywordsKnownToHAProxy(t *testing.T) {
	bin := testenv.NeedTool(t, "haproxy")
	for _, sec := range []struct {
		header string
		words  map[string]bool
	}{{"global", globalKeywords26}, {"listen l", proxyKeywords26}} {
		var words []string
		for w := range sec.words {
			words = append(words, w)
		}
		for len(words) > 0 {
			chunk := words[:min(20, len(words))]
			var b strings.Builder
			b.WriteString(sec.header + "\n")
			for i, w := range chunk {
				fmt.Fprintf(&b, "  %s\n  zzsentinel%d\n", w, i)
			}
			out, _ := haproxyCheck(t, bin, []byte(b.String()))
			done := len(chunk)
			for i, w := range chunk {
				if strings.Contains(out, fmt.Sprintf("unknown keyword '%s' ", w)) {
					t.Errorf("%s: haproxy calls %q unknown", sec.header, w)
				}
				if !strings.Contains(out, fmt.Sprintf("unknown keyword 'zzsentinel%d'", i)) {
					// HAProxy stopped at w (it aborts on some keywords
					// without arguments, and "quiet" silences it): the
					// next round starts after it.
					done = i + 1
					break
				}
			}
			words = words[done:]
		}
	}
}

// streamServer accepts runtime connections, answers the prompt set-up
// and then streams a line forever (until the client goes). It counts the
// bytes it managed to write.
func streamServer(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var sent atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				if strings.HasPrefix(string(buf[:n]), "prompt") {
					c.Write([]byte("\n> \n> "))
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
				chunk := []byte(strings.Repeat("0123456789abcdef", 4096))
				for i := 0; i < 1<<16; i++ { // bounded: 4 GiB at most
					m, err := c.Write(chunk)
					sent.Add(int64(m))
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return path, &sent
}

// countConn counts the bytes a client reads.
type countConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestRuntimeReplyCapped: a socket that streams without end costs at
// most MaxReply bytes (plus one read buffer), and the command fails with
// ErrReplyTooLarge; so does ExecuteOnce.
func TestRuntimeReplyCapped(t *testing.T) {
	path, _ := streamServer(t)
	const max = 1 << 20
	var read atomic.Int64
	rt := NewRuntime("unix", path, &RuntimeConfig{MaxReply: max, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countConn{c, &read}, nil
	}})
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := rt.Execute(ctx, "show", "stat")
	if !errors.Is(err, ErrReplyTooLarge) {
		t.Fatalf("Execute = %v, want ErrReplyTooLarge", err)
	}
	if n := read.Load(); n > max+64 {
		t.Errorf("read %d bytes for a cap of %d", n, max)
	}
	read.Store(0)
	_, err = rt.ExecuteOnce(ctx, "show", "stat")
	if !errors.Is(err, ErrReplyTooLarge) {
		t.Fatalf("ExecuteOnce = %v, want ErrReplyTooLarge", err)
	}
	if n := read.Load(); n > max+64*1024 {
		t.Errorf("ExecuteOnce read %d bytes for a cap of %d", n, max)
	}
}

// TestRuntimeRefusals: messages HAProxy marks as errors, and "Unknown
// command", are RuntimeErrors whose text is escaped and capped; the
// severity mark is removed from successful answers.
func TestRuntimeRefusals(t *testing.T) {
	path, _ := haproxytest.Socket(t,
		"[3]: No such server.\n",
		"[6]: Unknown command, but maybe one of the following ones is a better match:\n  help",
		"[6]: New server registered.\n",
		"[3]: \x1b[31mred\x1b[0m "+strings.Repeat("x", 10000)+"\n",
		"[4]: no need to change the addr\n",
	)
	rt := NewRuntime("unix", path, nil)
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var re *RuntimeError
	if _, err := rt.Execute(ctx, "set", "server", "be/x", "weight", "1"); !errors.As(err, &re) || re.Severity != 3 || re.Msg != "No such server." {
		t.Fatalf("error reply: %v (%+v)", err, re)
	}
	if _, err := rt.Execute(ctx, "frob"); !errors.As(err, &re) || !strings.HasPrefix(re.Msg, "Unknown command") {
		t.Fatalf("unknown command: %v", err)
	}
	if out, err := rt.Execute(ctx, "add", "server", "be/n", "127.0.0.1:1"); err != nil || out != "New server registered." {
		t.Fatalf("info reply: %q, %v", out, err)
	}
	_, err := rt.Execute(ctx, "x")
	if !errors.As(err, &re) || strings.ContainsRune(err.Error(), 0x1b) || len(err.Error()) > 2*maxShown+64 {
		t.Fatalf("hostile reply not escaped or capped: %q", err)
	}
	if out, err := rt.Execute(ctx, "set", "server", "be/a", "addr", "127.0.0.1"); err != nil || out != "no need to change the addr" {
		t.Fatalf("warning reply: %q, %v", out, err)
	}
}

// TestParseWeight covers HAProxy 2.6's rules for "set weight".
func TestParseWeight(t *testing.T) {
	for in, want := range map[string]Weight{
		"0": {0, false}, "256": {256, false}, "+7": {7, false}, " 7": {7, false}, "07": {7, false},
		"50%": {50, true}, "0%": {0, true}, "3000%": {3000, true}, "999999%": {25600, true},
	} {
		got, err := ParseWeight(in)
		if err != nil || got != want {
			t.Errorf("ParseWeight(%q) = %+v, %v, want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "%", "-5", "-5%", "257", "999", "abc", "5x", "10%x", "0x10", "50.5%", "99999999999"} {
		if w, err := ParseWeight(in); !errors.Is(err, ErrBadWeight) {
			t.Errorf("ParseWeight(%q) = %+v, %v, want ErrBadWeight", in, w, err)
		}
	}
	for _, c := range []struct {
		w             Weight
		initial, want int
	}{{Weight{50, true}, 10, 5}, {Weight{300, true}, 10, 30}, {Weight{3000, true}, 10, 256}, {Weight{33, true}, 1, 0}, {Weight{7, false}, 10, 7}} {
		if got := c.w.Of(c.initial); got != c.want {
			t.Errorf("%v of %d = %d, want %d", c.w, c.initial, got, c.want)
		}
	}
}

// TestRuntimeLogger: connection events reach the configured logger.
func TestRuntimeLogger(t *testing.T) {
	path, _ := haproxytest.Socket(t, "Name: HAProxy\n")
	var logs strings.Builder
	rt := NewRuntime("unix", path, &RuntimeConfig{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := rt.ShowInfo(ctx); err != nil {
		t.Fatal(err)
	}
	rt.Close()
	if err := rt.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := rt.ShowInfo(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if s := logs.String(); !strings.Contains(s, "connected") || !strings.Contains(s, "connection closed") || !strings.Contains(s, path) {
		t.Fatalf("logs:\n%s", s)
	}
}

// TestNoWarningsOnKnownConfigs: the seed configurations (HAProxy's
// guide, chapter 5 and appendix) and a config using many 2.6 keywords
// give no warning; a false warning would teach users to ignore them.
func TestNoWarningsOnKnownConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/*.cfg")
	if err != nil || len(files) == 0 {
		t.Fatalf("seeds: %v %v", files, err)
	}
	for _, p := range files {
		c, err := ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if w, _ := c.Check(nil); w != nil {
			t.Errorf("%s: %v", p, w)
		}
	}
	many := `global
    daemon
    maxconn 4000
    nbthread 2
    tune.bufsize 32768
    ssl-default-bind-options ssl-min-ver TLSv1.2
    stats socket /run/haproxy.sock mode 600 level admin
    stats timeout 30s
    lua-load /etc/haproxy/x.lua
    setenv X 1
    hard-stop-after 30s
    quiet
defaults
    mode http
    option httplog
    no option http-server-close
    default option forwardfor
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    errorfile 503 /etc/haproxy/errors/503.http
    retries 3
    default-server inter 2s
frontend fe
    bind 127.0.0.1:18099
    acl api path_beg /api
    http-request set-header X-Forwarded-Proto http
    http-response del-header Server
    tcp-request content accept
    capture request header Host len 32
    compression algo gzip
    filter compression
    monitor-uri /health
    unique-id-format %{+X}o\ %ci
    use_backend be if api
    default_backend be
backend be
    balance leastconn
    hash-type consistent
    cookie SRV insert indirect nocache
    stick-table type ip size 1m expire 30m
    stick on src
    http-check expect status 200
    tcp-check connect
    fullconn 100
    http-reuse safe
    retry-on all-retryable-errors
    server-template srv 3 127.0.0.1:8080 check
    server a 127.0.0.1:1 check
`
	c, err := Parse("many.cfg", []byte(many))
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := c.Check(nil); w != nil {
		t.Errorf("many.cfg: %v", w)
	}
}
