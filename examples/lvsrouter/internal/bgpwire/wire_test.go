package bgpwire

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	reqs := []Request{
		{V: Version, ID: 1, Op: OpStart, Start: &Global{AS: 65001, RouterID: netip.MustParseAddr("10.0.0.1"), ListenPort: 179, Debug: true}},
		{V: Version, ID: 2, Op: OpNeighbors, Neighbors: []Neighbor{{
			Address: netip.MustParseAddr("fd00::1"), RemoteAS: 65000, Port: 1179, LocalAddress: netip.MustParseAddr("fd00::2"),
			HoldTime: 9 * time.Second, KeepaliveInterval: 3 * time.Second, ConnectRetry: time.Second, Password: "s\"ecret\n",
		}}},
		{V: Version, ID: 3, Op: OpAnnounce, Prefix: netip.MustParsePrefix("192.0.2.1/32"), Attrs: &Attrs{MED: 5, HasMED: true, Communities: []uint32{1, 65000<<16 | 1}}},
		{V: Version, ID: 4, Op: OpWithdraw, Prefix: netip.MustParsePrefix("2001:db8::1/128")},
		{V: Version, ID: 5, Op: OpSent},
		{V: Version, ID: 6, Op: OpReset, Neighbor: netip.MustParseAddr("10.0.0.2"), Why: "BFD session down"},
		{V: Version, ID: 7, Op: OpClose},
	}
	var b bytes.Buffer
	for _, q := range reqs {
		if err := Write(&b, q); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(&b)
	for _, want := range reqs {
		got, err := r.Request()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	}
	if _, err := r.Request(); err != io.EOF {
		t.Errorf("after the last request: %v, want EOF", err)
	}
	resp := Response{V: Version, ID: 5, Err: "bgp: neighbor 10.0.0.2: can't find peer\nsecond line", Sent: map[netip.Addr]uint64{netip.MustParseAddr("10.0.0.2"): 3}}
	b.Reset()
	if err := Write(&b, resp); err != nil {
		t.Fatal(err)
	}
	got, err := NewReader(&b).Response()
	if err != nil || !reflect.DeepEqual(got, resp) {
		t.Errorf("response: %+v, %v; want %+v", got, err, resp)
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{`{"v":2,"id":1,"op":"sent"}`, "version"},
		{`{"id":1,"op":"sent"}`, "version"},
		{`{"v":1,"id":1,"op":"dance"}`, `unknown operation "dance"`},
		{`{"v":1,"id":1,"op":"sent","extra":1}`, "unknown field"},
		{`{"v":1,"id":1,"op":"sent"} {}`, "after the message"},
		{`{"v":1,"id":1,"op":"announce","prefix":"10.0.0.1"}`, "10.0.0.1"},
		{`not json`, "invalid"},
	} {
		_, err := DecodeRequest([]byte(c.line))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.line, err, c.want)
		}
	}
	if _, err := DecodeResponse([]byte(`{"v":0,"id":1}`)); !errors.Is(err, ErrVersion) {
		t.Errorf("response of version 0: %v", err)
	}
}

func TestReaderRefusesLongLine(t *testing.T) {
	r := NewReader(strings.NewReader(strings.Repeat("x", MaxLine+1) + "\n"))
	if _, err := r.Request(); err == nil || err == io.EOF {
		t.Errorf("line of %d bytes: %v", MaxLine+1, err)
	}
	if err := Write(io.Discard, Request{V: Version, Op: OpClose, Why: strings.Repeat("x", MaxLine)}); err == nil {
		t.Error("Write took a message longer than MaxLine")
	}
}

// FuzzDecode: no input panics either decoder, and what decodes encodes
// to a line that decodes and encodes to the same line again.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"v":1,"id":3,"op":"announce","prefix":"192.0.2.1/32","attrs":{"med":5,"has_med":true,"communities":[1,2]}}`))
	f.Add([]byte(`{"v":1,"id":2,"op":"neighbors","neighbors":[{"address":"fd00::1","remote_as":1,"hold_time":9000000000}]}`))
	f.Add([]byte(`{"v":1,"id":1,"op":"start","start":{"as":65001,"router_id":"10.0.0.1"}}`))
	f.Add([]byte(`{"v":1,"id":5,"err":"x","sent":{"10.0.0.2":3}}`))
	f.Add([]byte(`{"v":1,"id":5,"op":"neighbors","neighbors":[],"sent":{}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		if q, err := DecodeRequest(line); err == nil {
			stable(t, q, func(b []byte) (any, error) { return DecodeRequest(b) })
		}
		if p, err := DecodeResponse(line); err == nil {
			stable(t, p, func(b []byte) (any, error) { return DecodeResponse(b) })
		}
	})
}

// stable checks that m's encoding decodes and encodes to itself.
func stable(t *testing.T, m any, decode func([]byte) (any, error)) {
	t.Helper()
	var b1, b2 bytes.Buffer
	if err := Write(&b1, m); err != nil {
		t.Fatal(err)
	}
	m2, err := decode(bytes.TrimSuffix(b1.Bytes(), []byte("\n")))
	if err != nil {
		t.Fatalf("%s: %v", b1.Bytes(), err)
	}
	if err := Write(&b2, m2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Fatalf("%s encodes back as %s", b1.Bytes(), b2.Bytes())
	}
}
