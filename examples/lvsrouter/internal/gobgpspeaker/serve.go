// Package gobgpspeaker is lvsrouter's BGP speaker: GoBGP embedded as a
// library, driven by bgpwire requests on stdin. It runs in a process of
// its own (cmd/lvsrouter-bgp), started by lvsrouter only with --bgp, so
// that lvsrouter links no GoBGP (whose package initialisation alone costs
// megabytes in every process that links it).
package gobgpspeaker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/lvskit/lvskit/examples/lvsrouter/internal/bgpwire"
)

// Main is the speaker program: requests on stdin, responses on stdout,
// log records as slog JSON lines on stderr. It returns the exit code.
//
// lvsrouter's signals are ignored: sent to the whole process group (a
// terminal's ^C, systemd's stop, a test's kill -- -PGID), they are
// lvsrouter's to act on: on SIGTERM it first withdraws every VIP and
// drains through the sessions, then stops the speaker; a reload (SIGHUP)
// or a dump (SIGUSR1, SIGUSR2, 36) must not end the sessions. The speaker
// ends when its stdin does (lvsrouter gone); on Linux lvsrouter also
// starts it with a parent-death signal.
func Main() int {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.Signal(36))
	// Only responses go to the real stdout: a stray print of a library
	// lands on stderr, which lvsrouter logs, instead of breaking the
	// protocol.
	out := os.Stdout
	os.Stdout = os.Stderr
	level := new(slog.LevelVar)
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := Serve(os.Stdin, out, log, level); err != nil {
		log.Error("bgp: speaker", "err", err)
		return 1
	}
	return 0
}

// Serve answers the requests read from in on out, one at a time, until
// OpClose or the end of in; both stop GoBGP (a Cease to every
// neighbour). The first request must be OpStart, which sets level to
// Debug when it asks for debug lines. A request that cannot be decoded
// ends Serve with its error: the two sides no longer agree.
func Serve(in io.Reader, out io.Writer, log *slog.Logger, level *slog.LevelVar) error {
	r := bgpwire.NewReader(in)
	var g *goBGP
	ctx := context.Background()
	defer func() {
		if g != nil {
			g.Close()
		}
	}()
	for {
		q, err := r.Request()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p := bgpwire.Response{V: bgpwire.Version, ID: q.ID}
		switch {
		case q.Op == bgpwire.OpStart && g != nil:
			err = errors.New("bgp: speaker already started")
		case q.Op == bgpwire.OpStart && q.Start == nil:
			err = errors.New("bgp: start without its global configuration")
		case q.Op == bgpwire.OpStart:
			if q.Start.Debug {
				level.Set(slog.LevelDebug)
			}
			g, err = startGoBGP(ctx, *q.Start, log)
		case g == nil:
			err = fmt.Errorf("bgp: %s before start", q.Op)
		default:
			p.Sent, err = g.do(ctx, q)
		}
		if err != nil {
			p.Err = err.Error()
		}
		if werr := bgpwire.Write(out, p); werr != nil {
			return werr
		}
		if q.Op == bgpwire.OpClose && err == nil {
			g = nil
			return nil
		}
	}
}

// do runs one request other than OpStart.
func (g *goBGP) do(ctx context.Context, q bgpwire.Request) (map[netip.Addr]uint64, error) {
	switch q.Op {
	case bgpwire.OpNeighbors:
		return nil, g.SetNeighbors(ctx, q.Neighbors)
	case bgpwire.OpAnnounce, bgpwire.OpWithdraw:
		if !q.Prefix.IsValid() {
			return nil, fmt.Errorf("bgp: %s without a prefix", q.Op)
		}
		if q.Op == bgpwire.OpWithdraw {
			return nil, g.Withdraw(ctx, q.Prefix)
		}
		var a bgpwire.Attrs
		if q.Attrs != nil {
			a = *q.Attrs
		}
		return nil, g.Announce(ctx, q.Prefix, a)
	case bgpwire.OpSent:
		return g.Sent(ctx)
	case bgpwire.OpReset:
		if !q.Neighbor.IsValid() {
			return nil, errors.New("bgp: reset without a neighbor")
		}
		return nil, g.Reset(ctx, q.Neighbor, q.Why)
	case bgpwire.OpClose:
		return nil, g.Close()
	}
	return nil, fmt.Errorf("bgp: unknown operation %q", q.Op)
}
