package check

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"time"
)

// SMTP is keepalived's SMTP_CHECK: read a 220 banner, send HELO and expect
// 250, then send QUIT and read its reply (a server that hangs up instead
// fails, as with keepalived).
type SMTP struct {
	// Addr is connect_ip and connect_port.
	Addr netip.AddrPort
	// Bind is bindto and bind_port; zero lets the kernel choose.
	Bind netip.AddrPort
	// HeloName is helo_name; "" sends "localhost".
	HeloName string
	// Timeout bounds the whole check; zero means 5 s.
	Timeout time.Duration
}

// maxSMTPLine caps one reply line; RFC 5321 allows 512 octets.
const maxSMTPLine = 1024

// maxSMTPLines caps the lines of one multi-line reply.
const maxSMTPLines = 100

// Check runs one SMTP session.
func (c SMTP) Check(ctx context.Context) Result {
	start := time.Now()
	ctx, conn, done, err := dial(ctx, "tcp", c.Addr, c.Bind, c.Timeout)
	if err != nil {
		return down(start, "connect", err)
	}
	defer done()
	br := bufio.NewReaderSize(conn, maxSMTPLine)

	code, err := smtpReply(br)
	if err != nil {
		return down(start, "banner", ioErr(ctx, err))
	}
	if code != 220 {
		return failf(start, "banner code %d", code)
	}
	helo := c.HeloName
	if helo == "" {
		helo = "localhost"
	}
	if _, err := io.WriteString(conn, "HELO "+helo+"\r\n"); err != nil {
		return down(start, "write HELO", ioErr(ctx, err))
	}
	if code, err = smtpReply(br); err != nil {
		return down(start, "HELO reply", ioErr(ctx, err))
	}
	if code != 250 {
		return failf(start, "HELO reply code %d", code)
	}
	if _, err := io.WriteString(conn, "QUIT\r\n"); err != nil {
		return down(start, "write QUIT", ioErr(ctx, err))
	}
	// keepalived waits for the QUIT reply, whatever it says.
	if _, err := smtpReply(br); err != nil {
		return down(start, "QUIT reply", ioErr(ctx, err))
	}
	return up(start)
}

// smtpReply reads one (possibly multi-line) reply and returns its code.
func smtpReply(br *bufio.Reader) (int, error) {
	for i := 0; i < maxSMTPLines; i++ {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return 0, fmt.Errorf("reply line longer than %d bytes", maxSMTPLine)
		}
		if err != nil {
			return 0, err
		}
		if len(line) < 4 || (line[3] != ' ' && line[3] != '-' && line[3] != '\r' && line[3] != '\n') {
			return 0, fmt.Errorf("malformed reply %q", trimLine(line))
		}
		code, err := strconv.Atoi(string(line[:3]))
		if err != nil || code < 100 {
			return 0, fmt.Errorf("malformed reply %q", trimLine(line))
		}
		if line[3] != '-' {
			return code, nil
		}
	}
	return 0, fmt.Errorf("reply longer than %d lines", maxSMTPLines)
}

func trimLine(b []byte) string {
	if len(b) > 64 {
		b = b[:64]
	}
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return string(b)
}
