package check_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
)

// smtpServer is a small SMTP responder: it sends banner, answers HELO with
// helo and QUIT with 221, and reports the HELO argument it saw.
func smtpServer(t *testing.T, banner, helo string, seen chan<- string) func(net.Conn) {
	return func(c net.Conn) {
		io.WriteString(c, banner)
		br := bufio.NewReader(c)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			cmd, arg, _ := strings.Cut(strings.TrimSpace(l), " ")
			switch strings.ToUpper(cmd) {
			case "HELO":
				if seen != nil {
					seen <- arg
				}
				io.WriteString(c, helo)
			case "QUIT":
				io.WriteString(c, "221 bye\r\n")
				return
			default:
				io.WriteString(c, "500 what\r\n")
			}
		}
	}
}

func TestSMTP(t *testing.T) {
	noLeaks(t)
	seen := make(chan string, 1)
	addr := serveRaw(t, smtpServer(t, "220-mail.test ESMTP\r\n220 ready\r\n", "250 hello\r\n", seen))
	r := check.SMTP{Addr: addr, HeloName: "lb1.example.test"}.Check(context.Background())
	if !r.Up {
		t.Fatalf("%+v, want up", r)
	}
	if got := <-seen; got != "lb1.example.test" {
		t.Errorf("HELO %q", got)
	}
}

func TestSMTPBad(t *testing.T) {
	noLeaks(t)
	runBad(t, func(a netip.AddrPort) check.Result {
		return check.SMTP{Addr: a, Timeout: 300 * time.Millisecond}.Check(context.Background())
	}, []badServer{
		{"banner 554", smtpServer(t, "554 go away\r\n", "250 ok\r\n", nil), "banner code 554"},
		{"helo refused", smtpServer(t, "220 ok\r\n", "501 no\r\n", nil), "HELO reply code 501"},
		{"silent", func(c net.Conn) { io.Copy(io.Discard, c) }, "banner: context deadline exceeded"},
		{"garbage", func(c net.Conn) { io.WriteString(c, "HTTP/1.1 400 Bad\r\n") }, "malformed reply"},
		{"short line", func(c net.Conn) { io.WriteString(c, "22\r\n") }, "malformed reply"},
		{"long line", func(c net.Conn) { io.WriteString(c, "220 "+strings.Repeat("x", 5000)+"\r\n") }, "longer than 1024"},
		{"endless continuation", func(c net.Conn) {
			for {
				if _, err := io.WriteString(c, "220-more\r\n"); err != nil {
					return
				}
			}
		}, "longer than 100 lines"},
		{"close after banner", func(c net.Conn) { io.WriteString(c, "220 ok\r\n") }, "HELO reply"},
		// keepalived wants exactly 220 and 250, and a reply to QUIT.
		{"banner 221", smtpServer(t, "221 hmm\r\n", "250 ok\r\n", nil), "banner code 221"},
		{"helo 251", smtpServer(t, "220 ok\r\n", "251 ok\r\n", nil), "HELO reply code 251"},
		{"hang up on QUIT", func(c net.Conn) {
			io.WriteString(c, "220 ok\r\n")
			buf := make([]byte, 512)
			c.Read(buf)
			io.WriteString(c, "250 ok\r\n")
		}, "QUIT reply"},
	})
}
