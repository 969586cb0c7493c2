package haproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Runtime is a client for HAProxy's runtime API (the "stats socket"). It
// keeps one connection in interactive ("prompt") mode and sends every
// command over it, one at a time; a broken connection is dropped and the
// next command dials again. Commands are never retried. A Runtime is safe
// for concurrent use; commands are serialised.
type Runtime struct {
	network, addr string

	// Dial opens the connection; nil uses a net.Dialer. Tests and callers
	// needing a custom transport set it before the first command.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu   sync.Mutex
	conn net.Conn
	buf  []byte
}

// NewRuntime returns a client for the runtime API at addr: a socket path
// for network "unix", host:port for "tcp". It does not connect yet.
func NewRuntime(network, addr string) *Runtime {
	return &Runtime{network: network, addr: addr}
}

// RuntimeError is a command HAProxy refused, with its message.
type RuntimeError struct {
	Command string
	Msg     string
}

// Error returns the command and HAProxy's answer.
func (e *RuntimeError) Error() string {
	return fmt.Sprintf("haproxy runtime: %s: %s", e.Command, e.Msg)
}

// Close closes the connection, if any.
func (r *Runtime) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.drop()
}

func (r *Runtime) drop() error {
	if r.conn == nil {
		return nil
	}
	err := r.conn.Close()
	r.conn = nil
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
// and returns HAProxy's answer without the prompt and trailing newlines.
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
// rejected: HAProxy would answer it more or fewer times than once.
func (r *Runtime) ExecuteBatch(ctx context.Context, cmds ...string) ([]string, error) {
	if len(cmds) == 0 {
		return nil, nil
	}
	for _, c := range cmds {
		if err := checkCommand(c); err != nil {
			return nil, fmt.Errorf("haproxy runtime: command %q: %w", c, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.connect(ctx); err != nil {
		return nil, err
	}
	line := strings.Join(cmds, ";") + "\n"
	out, err := r.roundTrip(ctx, line, len(cmds))
	if err != nil {
		r.drop()
		return nil, fmt.Errorf("haproxy runtime: %s: %w", line[:len(line)-1], err)
	}
	return out, nil
}

// ErrBadCommand reports a command ExecuteBatch cannot send as one.
var ErrBadCommand = errors.New("not a single command")

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
// prompt mode, and reads the answer until HAProxy closes the connection.
// It suits commands whose output is large or could contain what looks
// like a prompt (show errors, show sess all); it does not disturb the
// shared connection.
func (r *Runtime) ExecuteOnce(ctx context.Context, words ...string) (string, error) {
	cmd := Command(words...)
	if err := checkCommand(cmd); err != nil {
		return "", fmt.Errorf("haproxy runtime: command %q: %w", cmd, err)
	}
	dial := r.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	c, err := dial(ctx, r.network, r.addr)
	if err != nil {
		return "", fmt.Errorf("haproxy runtime: dial %s %s: %w", r.network, r.addr, ctxErr(ctx, err))
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := c.Write([]byte(cmd + "\n")); err != nil {
		return "", fmt.Errorf("haproxy runtime: %s: %w", cmd, ctxErr(ctx, err))
	}
	out, err := io.ReadAll(c)
	if err != nil {
		return "", fmt.Errorf("haproxy runtime: %s: %w", cmd, ctxErr(ctx, err))
	}
	return strings.TrimRight(string(out), "\n"), nil
}

// connect dials and switches the connection to prompt mode.
func (r *Runtime) connect(ctx context.Context) error {
	if r.conn != nil {
		return nil
	}
	dial := r.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	c, err := dial(ctx, r.network, r.addr)
	if err != nil {
		return fmt.Errorf("haproxy runtime: dial %s %s: %w", r.network, r.addr, ctxErr(ctx, err))
	}
	r.conn = c
	r.buf = r.buf[:0]
	if _, err := r.roundTrip(ctx, "prompt\n", 1); err != nil {
		r.drop()
		return fmt.Errorf("haproxy runtime: entering prompt mode: %w", err)
	}
	return nil
}

// prompt is what HAProxy prints after each answer in interactive mode.
const prompt = "\n> "

// roundTrip writes line and reads n answers, each ended by the prompt.
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
	tmp := make([]byte, 32*1024)
	for {
		for len(out) < n {
			i := bytes.Index(r.buf, []byte(prompt))
			if i < 0 {
				break
			}
			out = append(out, strings.TrimRight(string(r.buf[:i]), "\n"))
			r.buf = r.buf[:copy(r.buf, r.buf[i+len(prompt):])]
		}
		if len(out) == n {
			return out, nil
		}
		m, err := c.Read(tmp)
		r.buf = append(r.buf, tmp[:m]...)
		if err != nil {
			return nil, ctxErr(ctx, err)
		}
	}
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// check runs a command whose success prints nothing or one of okMsgs.
func (r *Runtime) check(ctx context.Context, okMsgs []string, words ...string) error {
	out, err := r.Execute(ctx, words...)
	if err != nil {
		return err
	}
	if out == "" {
		return nil
	}
	for _, m := range okMsgs {
		if strings.Contains(out, m) {
			return nil
		}
	}
	return &RuntimeError{Command: strings.Join(words, " "), Msg: out}
}

func srvRef(backend, server string) string { return backend + "/" + server }

// ServerAdminState is a state for SetServerState.
type ServerAdminState string

// Server states accepted by "set server ... state".
const (
	StateReady ServerAdminState = "ready"
	StateDrain ServerAdminState = "drain"
	StateMaint ServerAdminState = "maint"
)

// SetServerState sets a server to ready, drain or maint.
func (r *Runtime) SetServerState(ctx context.Context, backend, server string, st ServerAdminState) error {
	return r.check(ctx, nil, "set", "server", srvRef(backend, server), "state", string(st))
}

// SetServerWeight sets a server's weight (0..256).
func (r *Runtime) SetServerWeight(ctx context.Context, backend, server string, weight int) error {
	return r.check(ctx, nil, "set", "server", srvRef(backend, server), "weight", strconv.Itoa(weight))
}

// SetServerAddr changes a server's address, and its port when port is
// not 0.
func (r *Runtime) SetServerAddr(ctx context.Context, backend, server string, addr netip.Addr, port uint16) error {
	w := []string{"set", "server", srvRef(backend, server), "addr", addr.String()}
	if port != 0 {
		w = append(w, "port", strconv.Itoa(int(port)))
	}
	return r.check(ctx, []string{"changed from", "no need to change"}, w...)
}

// SetServerHealth forces a checked server's health: "up", "stopping" or
// "down".
func (r *Runtime) SetServerHealth(ctx context.Context, backend, server, health string) error {
	return r.check(ctx, nil, "set", "server", srvRef(backend, server), "health", health)
}

// SetServerAgent forces a server's agent state: "up" or "down".
func (r *Runtime) SetServerAgent(ctx context.Context, backend, server, state string) error {
	return r.check(ctx, nil, "set", "server", srvRef(backend, server), "agent", state)
}

// EnableServer takes a server out of maintenance.
func (r *Runtime) EnableServer(ctx context.Context, backend, server string) error {
	return r.check(ctx, nil, "enable", "server", srvRef(backend, server))
}

// DisableServer puts a server into maintenance.
func (r *Runtime) DisableServer(ctx context.Context, backend, server string) error {
	return r.check(ctx, nil, "disable", "server", srvRef(backend, server))
}

// SetServerMaxconn sets a server's maxconn.
func (r *Runtime) SetServerMaxconn(ctx context.Context, backend, server string, maxconn int) error {
	return r.check(ctx, nil, "set", "maxconn", "server", srvRef(backend, server), strconv.Itoa(maxconn))
}

// AddServer adds a dynamic server (it starts in maintenance; see
// EnableServer) with the given address and server-line options.
func (r *Runtime) AddServer(ctx context.Context, backend, server, addr string, opts ...string) error {
	return r.expect(ctx, "New server registered", append([]string{"add", "server", srvRef(backend, server), addr}, opts...)...)
}

// DelServer deletes a dynamic server that is in maintenance and idle.
func (r *Runtime) DelServer(ctx context.Context, backend, server string) error {
	return r.expect(ctx, "Server deleted", "del", "server", srvRef(backend, server))
}

// expect runs a command whose success message contains msg.
func (r *Runtime) expect(ctx context.Context, msg string, words ...string) error {
	out, err := r.Execute(ctx, words...)
	if err != nil {
		return err
	}
	if !strings.Contains(out, msg) {
		return &RuntimeError{Command: strings.Join(words, " "), Msg: out}
	}
	return nil
}

// GetWeight returns a server's current and initial weights.
func (r *Runtime) GetWeight(ctx context.Context, backend, server string) (cur, initial int, err error) {
	w := []string{"get", "weight", srvRef(backend, server)}
	out, err := r.Execute(ctx, w...)
	if err != nil {
		return 0, 0, err
	}
	if _, err := fmt.Sscanf(out, "%d (initial %d)", &cur, &initial); err != nil {
		return 0, 0, &RuntimeError{Command: strings.Join(w, " "), Msg: out}
	}
	return cur, initial, nil
}

// Info is the answer to "show info": field name to value.
type Info map[string]string

// Int returns a numeric field, or 0.
func (i Info) Int(name string) int64 {
	n, _ := strconv.ParseInt(i[name], 10, 64)
	return n
}

// ShowInfo runs "show info".
func (r *Runtime) ShowInfo(ctx context.Context) (Info, error) {
	out, err := r.Execute(ctx, "show", "info")
	if err != nil {
		return nil, err
	}
	info := Info{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			info[k] = strings.TrimSpace(v)
		}
	}
	if info["Name"] == "" {
		return nil, &RuntimeError{Command: "show info", Msg: out}
	}
	return info, nil
}

// ShowStat runs "show stat" and parses its CSV by its header line.
func (r *Runtime) ShowStat(ctx context.Context) ([]StatRow, error) {
	out, err := r.Execute(ctx, "show", "stat")
	if err != nil {
		return nil, err
	}
	return ParseStat(out)
}

// ShowServersState runs "show servers state [backend]".
func (r *Runtime) ShowServersState(ctx context.Context, backend string) ([]ServerState, error) {
	w := []string{"show", "servers", "state"}
	if backend != "" {
		w = append(w, backend)
	}
	out, err := r.Execute(ctx, w...)
	if err != nil {
		return nil, err
	}
	return ParseServersState(out)
}

// ErrNoHeader is returned for stats output without its "# " header line.
var ErrNoHeader = errors.New("missing '# ' header line")
