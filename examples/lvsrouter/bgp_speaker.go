package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lvskit/lvskit/examples/lvsrouter/internal/bgpwire"
)

// The BGP speaker runs in a process of its own, lvsrouter-bgp
// (cmd/lvsrouter-bgp: GoBGP embedded as a library), started only when
// --bgp is given: GoBGP's packages (protobuf descriptors of its API,
// gRPC, ...) cost megabytes in every process that links them, so
// lvsrouter links none of it. speakerProc is the bgpSpeaker that drives
// that process over its stdin and stdout (package bgpwire); the speaker's
// log records, on its stderr, go to lvsrouter's log.
//
// The speaker dies with lvsrouter (a parent-death signal on Linux, and
// the end of its stdin everywhere). When it exits on its own, lvsrouter
// logs an error and starts it again, with backoff, restoring its
// neighbours and announcements: its sessions come back as after any
// connection loss.

// speakerProgram is the speaker's executable name.
const speakerProgram = "lvsrouter-bgp"

// speakerCommand returns the speaker's program (findSpeaker; tests build
// theirs).
var speakerCommand = findSpeaker

// findSpeaker looks for lvsrouter-bgp next to the running executable, then
// on PATH.
func findSpeaker() (string, error) {
	var tried []string
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), speakerProgram)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
		tried = append(tried, p)
	}
	if p, err := exec.LookPath(speakerProgram); err == nil {
		return p, nil
	}
	tried = append(tried, speakerProgram+" on PATH")
	return "", fmt.Errorf("bgp: the BGP speaker program is not installed: looked for %s", strings.Join(tried, " and "))
}

// speakerProc is the bgpSpeaker of a speaker process.
type speakerProc struct {
	log    *slog.Logger
	path   string
	global bgpwire.Global
	// stop is closed by Close: calls still waiting end, restarts stop.
	stop     chan struct{}
	stopOnce sync.Once

	// mu is held for each request and for a restart: one at a time, in
	// order.
	mu     sync.Mutex
	conn   *speakerConn // nil while the process is down
	closed bool
	id     uint64
	// neighbors and paths are what the speaker should have, restored
	// after a restart.
	neighbors []bgpwire.Neighbor
	paths     map[netip.Prefix]bgpwire.Attrs
	// delay is the wait before the next restart.
	delay time.Duration
}

// speakerConn is one run of the speaker process.
type speakerConn struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	started time.Time
	// pending are the channels (buffered) of the requests waiting for
	// their response, by ID.
	pmu     sync.Mutex
	pending map[uint64]chan bgpwire.Response
	// gone is closed when the speaker's output ended, after every
	// response read was delivered; done when the process has exited,
	// err then holding its exit status.
	gone, done chan struct{}
	err        error
}

// speakerTimeout bounds the wait for one answer; GoBGP answers within
// milliseconds.
var speakerTimeout = 30 * time.Second

// errSpeakerDown is returned while the speaker process is being restarted.
var errSpeakerDown = errors.New("bgp: the speaker process is down (restarting it)")

// startSpeaker starts the speaker process for c's global part;
// SetNeighbors adds the neighbours.
func startSpeaker(ctx context.Context, c *BGPConfig, log *slog.Logger) (bgpSpeaker, error) {
	path, err := speakerCommand()
	if err != nil {
		return nil, err
	}
	s := &speakerProc{
		log: log, path: path, stop: make(chan struct{}), paths: map[netip.Prefix]bgpwire.Attrs{},
		global: bgpwire.Global{AS: c.LocalAS, RouterID: c.RouterID, ListenPort: c.ListenPort, Debug: log.Enabled(ctx, slog.LevelDebug)},
		delay:  time.Second,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn, err = s.connect(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// connect starts a speaker process and gives it the global configuration,
// the neighbours and the announcements. s.mu is held.
func (s *speakerProc) connect(ctx context.Context) (*speakerConn, error) {
	c, err := s.spawn()
	if err != nil {
		return nil, err
	}
	if _, err := s.roundTrip(ctx, c, bgpwire.Request{Op: bgpwire.OpStart, Start: &s.global}, s.stop); err != nil {
		c.kill()
		return nil, fmt.Errorf("bgp: start: %w", err)
	}
	// What the speaker refuses now it refused before: logged, as a
	// failed call is.
	if len(s.neighbors) > 0 {
		if _, err := s.roundTrip(ctx, c, bgpwire.Request{Op: bgpwire.OpNeighbors, Neighbors: s.neighbors}, s.stop); err != nil {
			s.log.Error("bgp: restoring neighbours", "err", err)
		}
	}
	for _, p := range slices.SortedFunc(maps.Keys(s.paths), netip.Prefix.Compare) {
		a := s.paths[p]
		if _, err := s.roundTrip(ctx, c, bgpwire.Request{Op: bgpwire.OpAnnounce, Prefix: p, Attrs: &a}, s.stop); err != nil {
			s.log.Error("bgp: restoring an announcement", "prefix", p, "err", err)
		}
	}
	return c, nil
}

// spawn starts the process.
func (s *speakerProc) spawn() (*speakerConn, error) {
	// Pipes of our own, not StdoutPipe: Wait may then run while the
	// output is still being read.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("bgp: speaker: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("bgp: speaker: %w", err)
	}
	cmd := exec.Command(s.path)
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.SysProcAttr = speakerSysProcAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("bgp: speaker: %w", err)
	}
	c := &speakerConn{cmd: cmd, stdin: stdin, started: time.Now(), pending: map[uint64]chan bgpwire.Response{},
		gone: make(chan struct{}), done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal follows the thread that started the
		// child, not the process: that thread stays the child's until
		// it exits.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.err = cmd.Wait()
		close(c.done)
	}()
	err = <-started
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("bgp: starting the speaker %s: %w", s.path, err)
	}
	go c.read(outR, s.log)
	go s.logLines(errR)
	go s.watch(c)
	return c, nil
}

// read delivers the responses to the requests waiting for them.
func (c *speakerConn) read(r io.ReadCloser, log *slog.Logger) {
	defer close(c.gone)
	defer r.Close()
	rd := bgpwire.NewReader(r)
	for {
		p, err := rd.Response()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				// The two sides no longer agree: start again.
				log.Error("bgp: the speaker's answer", "err", err)
				c.kill()
			}
			return
		}
		c.pmu.Lock()
		ch := c.pending[p.ID]
		delete(c.pending, p.ID)
		c.pmu.Unlock()
		if ch != nil {
			ch <- p
		}
	}
}

// kill ends the process and waits for it.
func (c *speakerConn) kill() {
	c.cmd.Process.Kill()
	<-c.done
}

// roundTrip sends q on c and waits for its response, the end of the
// process, ctx or stop. s.mu is held.
func (s *speakerProc) roundTrip(ctx context.Context, c *speakerConn, q bgpwire.Request, stop <-chan struct{}) (bgpwire.Response, error) {
	s.id++
	q.V, q.ID = bgpwire.Version, s.id
	ch := make(chan bgpwire.Response, 1)
	c.pmu.Lock()
	c.pending[q.ID] = ch
	c.pmu.Unlock()
	defer func() {
		c.pmu.Lock()
		delete(c.pending, q.ID)
		c.pmu.Unlock()
	}()
	if err := bgpwire.Write(c.stdin, q); err != nil {
		// Most likely the process is gone: say how it ended.
		select {
		case <-c.gone:
			return bgpwire.Response{}, c.exited()
		case <-time.After(time.Second):
			return bgpwire.Response{}, fmt.Errorf("bgp: speaker: %w", err)
		}
	}
	var p bgpwire.Response
	t := time.NewTimer(speakerTimeout)
	defer t.Stop()
	select {
	case <-t.C:
		// A hung speaker would hold every BGP call (and a reload) for
		// good: the restart gives a working one.
		c.cmd.Process.Kill()
		return p, fmt.Errorf("bgp: the speaker did not answer %s within %v: killed it", q.Op, speakerTimeout)
	case p = <-ch:
	case <-c.gone:
		select {
		case p = <-ch:
		default:
			return p, c.exited()
		}
	case <-ctx.Done():
		return p, ctx.Err()
	case <-stop:
		return p, errors.New("bgp: speaker stopped")
	}
	if p.Err != "" {
		return p, errors.New(p.Err)
	}
	return p, nil
}

// exited is the error of a request the process did not answer.
func (c *speakerConn) exited() error {
	select {
	case <-c.done:
		return fmt.Errorf("bgp: the speaker exited: %v", c.err)
	case <-time.After(time.Second):
		return errors.New("bgp: the speaker closed its output")
	}
}

// watch restarts the speaker when its process exits while lvsrouter
// still uses it, with a delay that doubles (up to 30 s) while it keeps
// exiting within a minute.
func (s *speakerProc) watch(c *speakerConn) {
	<-c.done
	<-c.gone
	s.mu.Lock()
	if s.closed || s.conn != c {
		s.mu.Unlock()
		return
	}
	s.conn = nil
	if time.Since(c.started) > time.Minute {
		s.delay = time.Second
	}
	delay := s.delay
	s.mu.Unlock()
	s.log.Error("bgp: the speaker exited; its sessions are down until it is restarted", "err", c.err, "restart_in", delay)
	for {
		select {
		case <-s.stop:
			return
		case <-time.After(delay):
		}
		err := s.restart()
		if err == nil {
			return
		}
		delay = min(2*delay, 30*time.Second)
		s.log.Error("bgp: restarting the speaker", "err", err, "retry_in", delay)
	}
}

// restart starts the process again with what the speaker had.
func (s *speakerProc) restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	s.conn = c
	s.delay = min(2*s.delay, 30*time.Second)
	s.log.Warn("bgp: speaker restarted", "neighbors", len(s.neighbors), "announced", len(s.paths))
	return nil
}

// call sends q to the running speaker; record, run first, updates what
// a restart restores.
func (s *speakerProc) call(ctx context.Context, q bgpwire.Request, record func()) (bgpwire.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return bgpwire.Response{}, errors.New("bgp: speaker stopped")
	}
	if record != nil {
		record()
	}
	if s.conn == nil {
		return bgpwire.Response{}, errSpeakerDown
	}
	return s.roundTrip(ctx, s.conn, q, s.stop)
}

func (s *speakerProc) SetNeighbors(ctx context.Context, ns []BGPNeighbor) error {
	w := make([]bgpwire.Neighbor, len(ns))
	for i, n := range ns {
		w[i] = n.wire()
	}
	_, err := s.call(ctx, bgpwire.Request{Op: bgpwire.OpNeighbors, Neighbors: w}, func() { s.neighbors = w })
	return err
}

func (s *speakerProc) Announce(ctx context.Context, p netip.Prefix, a bgpAttrs) error {
	w := a.wire()
	_, err := s.call(ctx, bgpwire.Request{Op: bgpwire.OpAnnounce, Prefix: p, Attrs: &w}, func() { s.paths[p] = w })
	if err != nil && !errors.Is(err, errSpeakerDown) {
		s.mu.Lock()
		delete(s.paths, p)
		s.mu.Unlock()
	}
	return err
}

// wire is n as the speaker is sent it: without its BFD settings. The
// BFD sessions are lvsrouter's own, so a change there alone leaves the
// speaker's neighbour, and its BGP session, as it is.
func (n BGPNeighbor) wire() bgpwire.Neighbor {
	return bgpwire.Neighbor{Address: n.Address, RemoteAS: n.RemoteAS, Port: n.Port, LocalAddress: n.LocalAddress,
		HoldTime: n.HoldTime, KeepaliveInterval: n.KeepaliveInterval, ConnectRetry: n.ConnectRetry, Password: n.Password}
}

// wire is a as the speaker is sent it.
func (a bgpAttrs) wire() bgpwire.Attrs {
	return bgpwire.Attrs{MED: a.MED, HasMED: a.HasMED, Communities: a.communities()}
}

func (s *speakerProc) Withdraw(ctx context.Context, p netip.Prefix) error {
	_, err := s.call(ctx, bgpwire.Request{Op: bgpwire.OpWithdraw, Prefix: p}, func() { delete(s.paths, p) })
	return err
}

func (s *speakerProc) Sent(ctx context.Context) (map[netip.Addr]uint64, error) {
	p, err := s.call(ctx, bgpwire.Request{Op: bgpwire.OpSent}, nil)
	if p.Sent == nil {
		p.Sent = map[netip.Addr]uint64{}
	}
	return p.Sent, err
}

func (s *speakerProc) Reset(ctx context.Context, n netip.Addr, why string) error {
	_, err := s.call(ctx, bgpwire.Request{Op: bgpwire.OpReset, Neighbor: n, Why: why}, nil)
	return err
}

// Close stops the speaker (its sessions end with a Cease) and waits for
// its process to exit, killing it after 10 s.
func (s *speakerProc) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	c := s.conn
	s.conn = nil
	if c == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.roundTrip(ctx, c, bgpwire.Request{Op: bgpwire.OpClose}, nil)
	c.stdin.Close()
	select {
	case <-c.done:
	case <-ctx.Done():
		c.kill()
	}
	return err
}

// logLines passes the speaker's log lines on to lvsrouter's log.
func (s *speakerProc) logLines(r io.ReadCloser) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		logSpeakerLine(s.log, sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		s.log.Error("bgp: the speaker's log", "err", err)
		io.Copy(io.Discard, r)
	}
}

// logSpeakerLine logs one line of the speaker's stderr: a slog JSON record
// keeps its time, level, message and attributes (in name order); any
// other line (a Go panic's trace) is logged as an error.
func logSpeakerLine(log *slog.Logger, line []byte) {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	if d.Decode(&m) != nil {
		log.Error("bgp: speaker: " + string(line))
		return
	}
	msg, ok := m["msg"].(string)
	if !ok {
		log.Error("bgp: speaker: " + string(line))
		return
	}
	level := slog.LevelInfo
	if l, ok := m["level"].(string); ok {
		level.UnmarshalText([]byte(l))
	}
	ctx := context.Background()
	h := log.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	t := time.Now()
	if v, ok := m["time"].(string); ok {
		if pt, err := time.Parse(time.RFC3339Nano, v); err == nil {
			t = pt
		}
	}
	rec := slog.NewRecord(t, level, msg, 0)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k != "time" && k != "level" && k != "msg" {
			rec.AddAttrs(slog.Any(k, m[k]))
		}
	}
	h.Handle(ctx, rec)
}
