// Package bgpwire is the protocol between lvsrouter and its BGP speaker,
// the lvsrouter-bgp process: lvsrouter writes requests to the speaker's
// stdin and reads one response per request from its stdout, each a JSON
// object on one line. GoBGP lives only in the speaker, so lvsrouter links
// none of it and pays for none of its package initialisation unless
// --bgp is given.
//
// Every message carries the protocol's Version; a message of another
// version, an unknown operation or a line longer than MaxLine is refused
// with an error, never guessed at. Errors travel back as their text,
// verbatim. The speaker logs on its stderr, one slog JSON record a line,
// which lvsrouter passes on to its own log.
package bgpwire

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"time"
)

// Version is the protocol version both sides must speak.
const Version = 1

// MaxLine bounds one message, in bytes (its newline included).
const MaxLine = 1 << 20

// The operations, one per method of lvsrouter's speaker interface.
const (
	// OpStart starts the speaker with Request.Start; it must come first.
	OpStart = "start"
	// OpNeighbors makes the speaker's neighbours Request.Neighbors.
	OpNeighbors = "neighbors"
	// OpAnnounce announces Request.Prefix with Request.Attrs, next hop self.
	OpAnnounce = "announce"
	// OpWithdraw withdraws Request.Prefix.
	OpWithdraw = "withdraw"
	// OpSent asks for the UPDATE counters of the established neighbours
	// (Response.Sent).
	OpSent = "sent"
	// OpReset ends the session with Request.Neighbor (a Cease carrying
	// Request.Why).
	OpReset = "reset"
	// OpClose stops the speaker: its sessions end, then it exits.
	OpClose = "close"
)

var ops = []string{OpStart, OpNeighbors, OpAnnounce, OpWithdraw, OpSent, OpReset, OpClose}

// Global is the speaker's global configuration.
type Global struct {
	AS       uint32     `json:"as"`
	RouterID netip.Addr `json:"router_id"`
	// ListenPort is the port to listen on; 0 does not listen.
	ListenPort uint16 `json:"listen_port,omitempty"`
	// Debug asks for GoBGP's debug lines.
	Debug bool `json:"debug,omitempty"`
}

// Neighbor is one BGP neighbour.
type Neighbor struct {
	Address           netip.Addr    `json:"address"`
	RemoteAS          uint32        `json:"remote_as"`
	Port              uint16        `json:"port,omitempty"`
	LocalAddress      netip.Addr    `json:"local_address,omitzero"`
	HoldTime          time.Duration `json:"hold_time,omitempty"`
	KeepaliveInterval time.Duration `json:"keepalive_interval,omitempty"`
	ConnectRetry      time.Duration `json:"connect_retry,omitempty"`
	// Password turns on TCP-MD5; it travels only over the pipe.
	Password string `json:"password,omitempty"`
}

// Attrs are an announcement's path attributes.
type Attrs struct {
	MED         uint32   `json:"med,omitempty"`
	HasMED      bool     `json:"has_med,omitempty"`
	Communities []uint32 `json:"communities,omitempty"`
}

// Request is one message from lvsrouter to the speaker.
type Request struct {
	V         int          `json:"v"`
	ID        uint64       `json:"id"`
	Op        string       `json:"op"`
	Start     *Global      `json:"start,omitempty"`
	Neighbors []Neighbor   `json:"neighbors,omitempty"`
	Prefix    netip.Prefix `json:"prefix,omitzero"`
	Attrs     *Attrs       `json:"attrs,omitempty"`
	Neighbor  netip.Addr   `json:"neighbor,omitzero"`
	Why       string       `json:"why,omitempty"`
}

// Response answers the request with the same ID.
type Response struct {
	V  int    `json:"v"`
	ID uint64 `json:"id"`
	// Err is the operation's error text; empty when it succeeded.
	Err string `json:"err,omitempty"`
	// Sent answers OpSent.
	Sent map[netip.Addr]uint64 `json:"sent,omitempty"`
}

// ErrVersion is wrapped by a decode error for a message of another
// protocol version.
var ErrVersion = errors.New("bgpwire: protocol version mismatch")

// Write writes m (a Request or a Response) as one line.
func Write(w io.Writer, m any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("bgpwire: %w", err)
	}
	if len(b) >= MaxLine {
		return fmt.Errorf("bgpwire: message of %d bytes, more than %d", len(b), MaxLine-1)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Reader reads messages one line at a time.
type Reader struct{ s *bufio.Scanner }

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 4096), MaxLine)
	return &Reader{s: s}
}

// next returns the next line, io.EOF at the end.
func (r *Reader) next() ([]byte, error) {
	if r.s.Scan() {
		return r.s.Bytes(), nil
	}
	if err := r.s.Err(); err != nil {
		return nil, fmt.Errorf("bgpwire: %w", err)
	}
	return nil, io.EOF
}

// Request reads the next request.
func (r *Reader) Request() (Request, error) {
	line, err := r.next()
	if err != nil {
		return Request{}, err
	}
	return DecodeRequest(line)
}

// Response reads the next response.
func (r *Reader) Response() (Response, error) {
	line, err := r.next()
	if err != nil {
		return Response{}, err
	}
	return DecodeResponse(line)
}

// DecodeRequest decodes one request line and checks its version and
// operation.
func DecodeRequest(line []byte) (Request, error) {
	var q Request
	if err := decode(line, &q, &q.V); err != nil {
		return Request{}, err
	}
	if slices.Contains(ops, q.Op) {
		return q, nil
	}
	return Request{}, fmt.Errorf("bgpwire: request %d: unknown operation %q", q.ID, q.Op)
}

// DecodeResponse decodes one response line and checks its version.
func DecodeResponse(line []byte) (Response, error) {
	var p Response
	if err := decode(line, &p, &p.V); err != nil {
		return Response{}, err
	}
	return p, nil
}

// decode unmarshals one line strictly: no unknown field, nothing after
// the object, the right version.
func decode(line []byte, m any, v *int) error {
	d := json.NewDecoder(bytes.NewReader(line))
	d.DisallowUnknownFields()
	if err := d.Decode(m); err != nil {
		return fmt.Errorf("bgpwire: %w", err)
	}
	if d.More() {
		return errors.New("bgpwire: data after the message")
	}
	if *v != Version {
		return fmt.Errorf("%w: %d, want %d", ErrVersion, *v, Version)
	}
	return nil
}
