package check

import (
	"bufio"
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

// AgentState is the operational state word of a HAProxy agent reply.
type AgentState uint8

// Agent operational states.
const (
	AgentStateNone AgentState = iota // no state word
	AgentUp                          // "up"
	AgentDown                        // "down"
	AgentFail                        // "fail"
	AgentStopped                     // "stopped"
)

var agentStateNames = [...]string{"", "up", "down", "fail", "stopped"}

// String returns the agent keyword for s, or "" for AgentStateNone.
func (s AgentState) String() string {
	if int(s) < len(agentStateNames) {
		return agentStateNames[s]
	}
	return fmt.Sprintf("AgentState(%d)", s)
}

// AgentReply is one reply of a HAProxy agent (the agent-check protocol):
// words separated by spaces, tabs or commas, ending with a newline.
type AgentReply struct {
	// State is "up", "down", "fail" or "stopped", if given.
	State AgentState
	// Admin is "ready", "drain" or "maint", if given.
	Admin Admin
	// Weight is the "NN%" weight, if given (always Percent).
	Weight Weight
	// MaxConn is "maxconn:N"; 0 means not given.
	MaxConn int
	// Reason is the text after '#'.
	Reason string
}

// maxAgentLine caps the agent reply read.
const maxAgentLine = 1024

// ParseAgentReply parses one agent reply line. Unknown words are an
// error, naming the word and its position.
func ParseAgentReply(line string) (AgentReply, error) {
	var r AgentReply
	// The reply is one line; a stray CR inside it reads as a space.
	line, _, _ = strings.Cut(line, "\n")
	line = strings.ReplaceAll(line, "\r", " ")
	if i := strings.IndexByte(line, '#'); i >= 0 {
		r.Reason = strings.TrimSpace(line[i+1:])
		line = line[:i]
	}
	words := strings.FieldsFunc(line, func(c rune) bool { return c == ' ' || c == '\t' || c == ',' })
	for i, w := range words {
		lw := strings.ToLower(w)
		switch lw {
		case "up":
			r.State = AgentUp
		case "down":
			r.State = AgentDown
		case "fail":
			r.State = AgentFail
		case "stopped":
			r.State = AgentStopped
		case "ready":
			r.Admin = AdminReady
		case "drain":
			r.Admin = AdminDrain
		case "maint":
			r.Admin = AdminMaint
		default:
			if n, ok := strings.CutSuffix(lw, "%"); ok {
				v, err := strconv.Atoi(n)
				if err != nil || v < 0 || v > 256*100 {
					return r, fmt.Errorf("agent reply: word %d %q: bad weight", i+1, w)
				}
				r.Weight = Weight{Set: true, Percent: true, Value: v}
				continue
			}
			if n, ok := strings.CutPrefix(lw, "maxconn:"); ok {
				v, err := strconv.Atoi(n)
				if err != nil || v < 0 {
					return r, fmt.Errorf("agent reply: word %d %q: bad maxconn", i+1, w)
				}
				r.MaxConn = v
				continue
			}
			return r, fmt.Errorf("agent reply: word %d %q: unknown", i+1, w)
		}
	}
	return r, nil
}

// String formats r as the line an agent sends, without the newline.
func (r AgentReply) String() string {
	var words []string
	if r.State != AgentStateNone {
		words = append(words, r.State.String())
	}
	if r.Admin != AdminNone {
		words = append(words, r.Admin.String())
	}
	if r.Weight.Set {
		words = append(words, strconv.Itoa(r.Weight.Value)+"%")
	}
	if r.MaxConn > 0 {
		words = append(words, "maxconn:"+strconv.Itoa(r.MaxConn))
	}
	if r.Reason != "" {
		words = append(words, "#"+strings.NewReplacer("\n", " ", "\r", " ").Replace(r.Reason))
	}
	return strings.Join(words, " ")
}

// Result maps the reply to a check Result: down for "down", "fail" and
// "stopped", up otherwise, carrying weight, admin state and maxconn.
func (r AgentReply) Result() Result {
	res := Result{Up: true, Weight: r.Weight, Admin: r.Admin, MaxConn: r.MaxConn}
	switch r.State {
	case AgentDown, AgentFail, AgentStopped:
		res.Up = false
		res.Reason = "agent says " + r.State.String()
		if r.Reason != "" {
			res.Reason += ": " + r.Reason
		}
		res.Err = fmt.Errorf("%w: %s", ErrCheck, res.Reason)
	}
	return res
}

// Agent is HAProxy's agent-check client: connect to the agent, send Send
// (agent-send) if set, read one reply line.
type Agent struct {
	// Addr is the agent's address (agent-addr and agent-port).
	Addr netip.AddrPort
	// Send is sent first, if not empty.
	Send string
	// Timeout bounds the whole check; zero means 5 s.
	Timeout time.Duration
}

// Check asks the agent once.
func (c Agent) Check(ctx context.Context) Result {
	start := time.Now()
	ctx, conn, done, err := dial(ctx, "tcp", c.Addr, netip.AddrPort{}, c.Timeout)
	if err != nil {
		return down(start, "connect", err)
	}
	defer done()
	if c.Send != "" {
		if _, err := io.WriteString(conn, c.Send); err != nil {
			return down(start, "send", ioErr(ctx, err))
		}
	}
	br := bufio.NewReaderSize(conn, maxAgentLine)
	line, err := br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return failf(start, "agent reply longer than %d bytes", maxAgentLine)
	case errors.Is(err, io.EOF) && len(line) > 0:
		// An agent may close instead of ending the line.
	case err != nil:
		return down(start, "read reply", ioErr(ctx, err))
	}
	ar, err := ParseAgentReply(string(line))
	if err != nil {
		return down(start, "", fmt.Errorf("%w: %w", ErrCheck, err))
	}
	r := ar.Result()
	r.Latency = time.Since(start)
	return r
}

// AgentServer serves the agent side of HAProxy's agent-check: every
// connection gets the current reply line and is closed.
type AgentServer struct {
	mu      sync.Mutex
	reply   AgentReply
	ln      net.Listener
	wg      sync.WaitGroup
	done    chan struct{}
	stop    sync.Once
	running bool
	closed  bool
}

// NewAgentServer returns a server that answers on ln with reply while Run
// runs. It starts nothing; Close releases ln.
func NewAgentServer(ln net.Listener, reply AgentReply) *AgentServer {
	return &AgentServer{reply: reply, ln: ln, done: make(chan struct{})}
}

// Run serves connections until ctx ends or Close is called, then closes
// the listener and returns nil. It returns ErrClosed after Close and
// ErrRunning when it was called before.
func (s *AgentServer) Run(ctx context.Context) error {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrClosed
	case s.running:
		s.mu.Unlock()
		return ErrRunning
	}
	s.running = true
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	defer context.AfterFunc(ctx, s.shutdown)()
	s.serve()
	return nil
}

// Addr returns the listener's address.
func (s *AgentServer) Addr() net.Addr { return s.ln.Addr() }

// Set changes the reply given to the next connections.
func (s *AgentServer) Set(r AgentReply) {
	s.mu.Lock()
	s.reply = r
	s.mu.Unlock()
}

// Reply returns the current reply.
func (s *AgentServer) Reply() AgentReply {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reply
}

// Close stops Run, closes the listener and waits for Run to return. It is
// safe to call more than once, and without Run.
func (s *AgentServer) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.shutdown()
	s.wg.Wait()
	return nil
}

// shutdown ends serve: once, it marks the server done and closes the
// listener, which ends a blocked Accept.
func (s *AgentServer) shutdown() {
	s.stop.Do(func() {
		close(s.done)
		s.ln.Close()
	})
}

func (s *AgentServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary errors (EMFILE): back off briefly.
			select {
			case <-s.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		line := s.Reply().String() + "\n"
		// One short write to a fresh socket; a bounded deadline keeps a
		// peer that never reads from holding the server.
		c.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(c, line)
		c.Close()
	}
}
