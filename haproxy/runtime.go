package haproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// RuntimeConfig configures a Runtime. A nil *RuntimeConfig and the zero
// value mean the defaults.
type RuntimeConfig struct {
	// Dial opens the connection; nil uses a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// MaxReply caps the bytes read for one answer (and, in ExecuteBatch,
	// for all answers together), so that a peer that streams without end
	// cannot grow our memory: past it the command fails with
	// ErrReplyTooLarge and the connection is dropped. 0 means
	// DefaultMaxReply.
	MaxReply int
	// Logger receives connection events at debug level; nil discards.
	Logger *slog.Logger
}

// DefaultMaxReply is the default RuntimeConfig.MaxReply: 64 MiB, several
// times "show stat" on 10,000 backends with 4 servers each.
const DefaultMaxReply = 64 << 20

// Runtime is a client for HAProxy's runtime API (the "stats socket"). It
// keeps one connection in interactive ("prompt") mode and sends every
// command over it, one at a time; a broken connection is dropped and the
// next command dials again. Commands are never retried. A Runtime is safe
// for concurrent use; commands are serialised.
//
// On connecting, Runtime asks HAProxy to mark its messages with their
// severity ("set severity-output number"), so that a refusal is told
// apart from a success without knowing each command's wording: a message
// of severity error or worse, and "Unknown command", come back as a
// *RuntimeError. The marks are removed from the answers returned.
type Runtime struct {
	network, addr string
	dial          func(ctx context.Context, network, addr string) (net.Conn, error)
	maxReply      int
	log           *slog.Logger

	mu       sync.Mutex
	conn     net.Conn
	buf      []byte
	severity bool // the connection marks messages with their severity
	closed   bool
}

// NewRuntime returns a client for the runtime API at addr: a socket path
// for network "unix", host:port for "tcp". cfg may be nil. It does not
// connect yet.
func NewRuntime(network, addr string, cfg *RuntimeConfig) *Runtime {
	r := &Runtime{network: network, addr: addr, maxReply: DefaultMaxReply}
	if cfg != nil {
		r.dial = cfg.Dial
		if cfg.MaxReply > 0 {
			r.maxReply = cfg.MaxReply
		}
		r.log = cfg.Logger
	}
	if r.dial == nil {
		var d net.Dialer
		r.dial = d.DialContext
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r
}

// Errors of the runtime client, for errors.Is.
var (
	// ErrBadCommand reports a command ExecuteBatch cannot send as one.
	ErrBadCommand = errors.New("haproxy: not a single command")
	// ErrReplyTooLarge reports an answer longer than RuntimeConfig.MaxReply.
	ErrReplyTooLarge = errors.New("haproxy: runtime reply too large")
	// ErrClosed reports a command on a closed Runtime.
	ErrClosed = errors.New("haproxy: runtime client closed")
)

// RuntimeError is a command HAProxy refused, with its message.
type RuntimeError struct {
	Command string
	// Severity is the syslog level HAProxy gave the message (3 for an
	// error), or -1 when it gave none.
	Severity int
	// Msg is HAProxy's answer as it sent it.
	Msg string
}

// maxShown caps how much of a command or answer an error message shows.
const maxShown = 256

// Error returns the command and HAProxy's answer, escaped and shortened
// so that printing it never drives a terminal.
func (e *RuntimeError) Error() string {
	return fmt.Sprintf("haproxy: runtime: %s: %s", sanitize(e.Command, maxShown), sanitize(strings.TrimSpace(e.Msg), maxShown))
}

// Close closes the connection, if any; later commands fail with
// ErrClosed. It is safe to call more than once.
func (r *Runtime) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return r.drop()
}

func (r *Runtime) drop() error {
	if r.conn == nil {
		return nil
	}
	err := r.conn.Close()
	r.conn = nil
	r.log.Debug("haproxy runtime: connection closed", "network", r.network, "addr", r.addr)
	return err
}

// EscapeArg protects the characters HAProxy's command parser treats
// specially: ';' (command separator), spaces and tabs (argument
// separators) and '\'.
func EscapeArg(s string) string {
	if !strings.ContainsAny(s, "; \t\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ';', ' ', '\t', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Command builds one command line from words, escaping each.
func Command(words ...string) string {
	esc := make([]string, len(words))
	for i, w := range words {
		esc[i] = EscapeArg(w)
	}
	return strings.Join(esc, " ")
}

// Execute sends one command built from words (escaped with EscapeArg)
// and returns HAProxy's answer without the prompt, the severity mark and
// trailing newlines. An answer HAProxy marks as an error is returned as a
// *RuntimeError.
func (r *Runtime) Execute(ctx context.Context, words ...string) (string, error) {
	out, err := r.ExecuteBatch(ctx, Command(words...))
	if err != nil {
		return "", err
	}
	return out[0], nil
}

// ExecuteBatch sends already-escaped command lines in one write,
// separated by ';', and returns one answer per command. A command that is
// blank, holds a newline or an unescaped ';', or ends in a lone '\' is
// rejected: HAProxy would answer it more or fewer times than once. When
// HAProxy refuses a command, the error is a *RuntimeError for the first
// refused one and the answers are still returned.
func (r *Runtime) ExecuteBatch(ctx context.Context, cmds ...string) ([]string, error) {
	if len(cmds) == 0 {
		return nil, nil
	}
	for _, c := range cmds {
		if err := checkCommand(c); err != nil {
			return nil, fmt.Errorf("haproxy: runtime: command %q: %w", sanitize(c, maxShown), err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if err := r.connect(ctx); err != nil {
		return nil, err
	}
	line := strings.Join(cmds, ";") + "\n"
	out, err := r.roundTrip(ctx, line, len(cmds))
	if err != nil {
		r.drop()
		return nil, fmt.Errorf("haproxy: runtime: %s: %w", sanitize(line[:len(line)-1], maxShown), err)
	}
	var first error
	for i, o := range out {
		sev, msg := -1, o
		if r.severity {
			sev, msg = cutSeverity(o)
		}
		out[i] = msg
		if first == nil && refused(sev, msg) {
			first = &RuntimeError{Command: cmds[i], Severity: sev, Msg: msg}
		}
	}
	return out, first
}

// cutSeverity splits the "[N]: " mark HAProxy puts before a message in
// "severity-output number" mode.
func cutSeverity(s string) (int, string) {
	if len(s) >= 5 && s[0] == '[' && s[2] == ']' && s[3] == ':' && s[4] == ' ' && isDigit(s[1]) {
		return int(s[1] - '0'), s[5:]
	}
	return -1, s
}

// refused reports whether an answer is a refusal: a message of syslog
// severity error (3) or worse, or "Unknown command", which HAProxy 2.6
// sends at severity info.
func refused(sev int, msg string) bool {
	return (sev >= 0 && sev <= 3) || strings.HasPrefix(msg, "Unknown command")
}

func checkCommand(c string) error {
	if strings.TrimSpace(c) == "" {
		return fmt.Errorf("%w: blank", ErrBadCommand)
	}
	for i := 0; i < len(c); i++ {
		switch c[i] {
		case '\n', '\r':
			return fmt.Errorf("%w: newline", ErrBadCommand)
		case ';':
			return fmt.Errorf("%w: unescaped ';' (use EscapeArg)", ErrBadCommand)
		case '\\':
			if i+1 == len(c) {
				return fmt.Errorf("%w: ends in an escape", ErrBadCommand)
			}
			i++
		}
	}
	return nil
}

// ExecuteOnce sends one command on a connection of its own, without
// prompt mode, and reads the answer until HAProxy closes the connection
// (at most RuntimeConfig.MaxReply bytes). It suits commands whose output
// is large or could contain what looks like a prompt (show errors, show
// sess all); it does not disturb the shared connection. A refusal is a
// *RuntimeError, as in Execute.
func (r *Runtime) ExecuteOnce(ctx context.Context, words ...string) (string, error) {
	cmd := Command(words...)
	if err := checkCommand(cmd); err != nil {
		return "", fmt.Errorf("haproxy: runtime: command %q: %w", sanitize(cmd, maxShown), err)
	}
	c, err := r.dial(ctx, r.network, r.addr)
	if err != nil {
		return "", fmt.Errorf("haproxy: runtime: dial %s %s: %w", r.network, r.addr, ctxErr(ctx, err))
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	shown := sanitize(cmd, maxShown)
	// The severity setting answers nothing, so the reply is the command's.
	if _, err := c.Write([]byte("set severity-output number;" + cmd + "\n")); err != nil {
		return "", fmt.Errorf("haproxy: runtime: %s: %w", shown, ctxErr(ctx, err))
	}
	out, err := io.ReadAll(io.LimitReader(c, int64(r.maxReply)+1))
	if err != nil {
		return "", fmt.Errorf("haproxy: runtime: %s: %w", shown, ctxErr(ctx, err))
	}
	if len(out) > r.maxReply {
		return "", fmt.Errorf("haproxy: runtime: %s: %w (more than %d bytes)", shown, ErrReplyTooLarge, r.maxReply)
	}
	// The severity setting's answer is an empty line.
	sev, msg := cutSeverity(strings.TrimRight(strings.TrimPrefix(string(out), "\n"), "\n"))
	if refused(sev, msg) {
		return msg, &RuntimeError{Command: cmd, Severity: sev, Msg: msg}
	}
	return msg, nil
}

// connect dials and switches the connection to prompt mode with
// severity marks.
func (r *Runtime) connect(ctx context.Context) error {
	if r.conn != nil {
		return nil
	}
	c, err := r.dial(ctx, r.network, r.addr)
	if err != nil {
		return fmt.Errorf("haproxy: runtime: dial %s %s: %w", r.network, r.addr, ctxErr(ctx, err))
	}
	r.conn = c
	r.buf = r.buf[:0]
	r.log.Debug("haproxy runtime: connected", "network", r.network, "addr", r.addr)
	// "prompt" answers only with the prompt; "set severity-output"
	// answers nothing when HAProxy knows it, an error otherwise.
	out, err := r.roundTrip(ctx, "prompt;set severity-output number\n", 2)
	if err != nil {
		r.drop()
		return fmt.Errorf("haproxy: runtime: entering prompt mode: %w", err)
	}
	r.severity = out[1] == ""
	return nil
}

// prompt is what HAProxy prints after each answer in interactive mode.
const prompt = "\n> "

// roundTrip writes line and reads n answers, each ended by the prompt,
// holding at most maxReply bytes of them.
func (r *Runtime) roundTrip(ctx context.Context, line string, n int) ([]string, error) {
	c := r.conn
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	} else {
		c.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := c.Write([]byte(line)); err != nil {
		return nil, ctxErr(ctx, err)
	}
	var out []string
	held := 0 // bytes of the answers already cut from buf
	tmp := make([]byte, 32*1024)
	for {
		for len(out) < n {
			i := bytes.Index(r.buf, []byte(prompt))
			if i < 0 {
				break
			}
			out = append(out, strings.TrimRight(string(r.buf[:i]), "\n"))
			held += i
			r.buf = r.buf[:copy(r.buf, r.buf[i+len(prompt):])]
		}
		if len(out) == n {
			return out, nil
		}
		if held+len(r.buf) > r.maxReply {
			return nil, fmt.Errorf("%w (more than %d bytes)", ErrReplyTooLarge, r.maxReply)
		}
		// Never read past the cap: the buffer grows to maxReply plus
		// one read at most.
		m, err := c.Read(tmp[:min(len(tmp), r.maxReply+len(prompt)-held-len(r.buf)+1)])
		r.buf = append(r.buf, tmp[:m]...)
		if err != nil {
			return nil, ctxErr(ctx, err)
		}
	}
}

// ctxErr makes an I/O error that the context caused match the context's
// error. The connection's deadline is the context's, so a read can time
// out a moment before the context itself reports being done.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	if dl, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(dl) {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}
