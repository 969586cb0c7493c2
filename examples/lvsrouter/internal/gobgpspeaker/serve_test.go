package gobgpspeaker

import (
	"bytes"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/examples/lvsrouter/internal/bgpwire"
)

// TestServe answers each request with its ID, refuses what comes before
// start or without its operand, carries GoBGP's errors back and stops on
// close.
func TestServe(t *testing.T) {
	var in bytes.Buffer
	reqs := []bgpwire.Request{
		{Op: bgpwire.OpSent},
		{Op: bgpwire.OpStart},
		{Op: bgpwire.OpStart, Start: &bgpwire.Global{AS: 65001, RouterID: netip.MustParseAddr("10.0.0.11")}},
		{Op: bgpwire.OpStart, Start: &bgpwire.Global{AS: 65001, RouterID: netip.MustParseAddr("10.0.0.11")}},
		{Op: bgpwire.OpAnnounce},
		{Op: bgpwire.OpAnnounce, Prefix: netip.MustParsePrefix("192.0.2.1/32"), Attrs: &bgpwire.Attrs{MED: 1, HasMED: true, Communities: []uint32{7}}},
		{Op: bgpwire.OpSent},
		{Op: bgpwire.OpReset},
		{Op: bgpwire.OpReset, Neighbor: netip.MustParseAddr("127.0.0.9"), Why: "x"},
		{Op: bgpwire.OpWithdraw, Prefix: netip.MustParsePrefix("192.0.2.1/32")},
		{Op: bgpwire.OpClose},
		{Op: bgpwire.OpSent}, // after close: never read
	}
	for i, q := range reqs {
		q.V, q.ID = bgpwire.Version, uint64(i+1)
		if err := bgpwire.Write(&in, q); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := Serve(&in, &out, slog.New(slog.DiscardHandler), new(slog.LevelVar)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"bgp: sent before start",
		"bgp: start without its global configuration",
		"",
		"bgp: speaker already started",
		"bgp: announce without a prefix",
		"",
		"",
		"bgp: reset without a neighbor",
		"127.0.0.9", // GoBGP's own text
		"",
		"",
	}
	r := bgpwire.NewReader(&out)
	for i, w := range want {
		p, err := r.Response()
		if err != nil {
			t.Fatalf("response %d: %v", i+1, err)
		}
		if p.ID != uint64(i+1) || (w == "") != (p.Err == "") || !strings.Contains(p.Err, w) {
			t.Errorf("response %d: %+v, want an error with %q", i+1, p, w)
		}
	}
	if _, err := r.Response(); err != io.EOF {
		t.Errorf("after close: %v, want nothing more", err)
	}
}

// TestServeRefusesGarbage: a line that is not a request ends Serve with
// its error (the two sides no longer agree).
func TestServeRefusesGarbage(t *testing.T) {
	err := Serve(strings.NewReader("{\"v\":9}\n"), io.Discard, slog.New(slog.DiscardHandler), new(slog.LevelVar))
	if err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("Serve of a version 9 line: %v", err)
	}
}
