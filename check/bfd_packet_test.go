package check_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
)

// An Up packet with FRR bfdd's default timers (300 ms, multiplier 3, echo 50 ms).
const frrUp = "20c003180000000100000002000493e0000493e00000c350"

func TestBFDPacketDecodesFRRDefaults(t *testing.T) {
	data, _ := hex.DecodeString(frrUp)
	var p check.BFDPacket
	if err := p.DecodeFromBytes(data); err != nil {
		t.Fatal(err)
	}
	if p.State != check.BFDUp || p.DetectMult != 3 || p.MyDiscriminator != 1 || p.YourDiscriminator != 2 ||
		p.DesiredMinTx != 300*time.Millisecond || p.RequiredMinRx != 300*time.Millisecond ||
		p.RequiredMinEchoRx != 50*time.Millisecond || p.Poll || p.Final {
		t.Fatalf("decoded %+v", p)
	}
	out, err := p.AppendTo(nil)
	if err != nil || !bytes.Equal(out, data) {
		t.Fatalf("re-encoded %x, %v; want %s", out, err, frrUp)
	}
}

func TestBFDPacketRoundTripsSimplePassword(t *testing.T) {
	in := check.BFDPacket{State: check.BFDInit, Diag: check.BFDDiagNeighborDown, Poll: true, DetectMult: 5,
		MyDiscriminator: 7, DesiredMinTx: time.Second, RequiredMinRx: 10 * time.Millisecond,
		AuthType: check.BFDAuthSimplePassword, AuthKeyID: 2, AuthData: []byte("secret")}
	b, err := in.AppendTo(make([]byte, 0, 64))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 24+3+6 || b[3] != byte(len(b)) || b[1]&0x04 == 0 {
		t.Fatalf("encoded %x", b)
	}
	var out check.BFDPacket
	if err := out.DecodeFromBytes(b); err != nil {
		t.Fatal(err)
	}
	if out.Version != 1 || out.State != in.State || out.Diag != in.Diag || !out.Poll || out.AuthKeyID != 2 ||
		string(out.AuthData) != "secret" || out.RequiredMinRx != in.RequiredMinRx {
		t.Fatalf("decoded %+v", out)
	}
}

func TestBFDPacketRejectsWhatRFC5880Discards(t *testing.T) {
	good, _ := hex.DecodeString(frrUp)
	for _, c := range []struct {
		name string
		edit func(b []byte) []byte
		want error
	}{
		{"short", func(b []byte) []byte { return b[:23] }, check.ErrBFDTruncated},
		{"version 0", func(b []byte) []byte { b[0] &= 0x1f; return b }, check.ErrBFDMalformed},
		{"length beyond data", func(b []byte) []byte { b[3] = 30; return b }, check.ErrBFDTruncated},
		{"length below header", func(b []byte) []byte { b[3] = 20; return b }, check.ErrBFDMalformed},
		{"detect mult 0", func(b []byte) []byte { b[2] = 0; return b }, check.ErrBFDMalformed},
		{"multipoint", func(b []byte) []byte { b[1] |= 1; return b }, check.ErrBFDMalformed},
		{"my discriminator 0", func(b []byte) []byte { copy(b[4:8], []byte{0, 0, 0, 0}); return b }, check.ErrBFDMalformed},
		{"A bit without section", func(b []byte) []byte { b[1] |= 4; return b }, check.ErrBFDMalformed},
		{"auth length past packet", func(b []byte) []byte {
			b[1] |= 4
			b = append(b, 1, 9, 1, 'x')
			b[3] = byte(len(b))
			return b
		}, check.ErrBFDMalformed},
		{"empty password", func(b []byte) []byte {
			b[1] |= 4
			b = append(b, 1, 3, 1)
			b[3] = byte(len(b))
			return b
		}, check.ErrBFDMalformed},
	} {
		b := c.edit(append([]byte(nil), good...))
		var p check.BFDPacket
		if err := p.DecodeFromBytes(b); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestBFDPacketDecodeDoesNotAllocate(t *testing.T) {
	data, _ := hex.DecodeString(frrUp)
	var p check.BFDPacket
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() {
		_ = p.DecodeFromBytes(data)
		buf, _ = p.AppendTo(buf[:0])
	}); n != 0 {
		t.Fatalf("%v allocations per decode+encode", n)
	}
}

func FuzzBFDPacket(f *testing.F) {
	data, _ := hex.DecodeString(frrUp)
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		var p check.BFDPacket
		if p.DecodeFromBytes(data) != nil {
			return
		}
		out, err := p.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		// The packet re-encodes byte for byte, except that a length
		// field counting padding after the sections is written exact.
		if n := len(out); !bytes.Equal(out[:3], data[:3]) || !bytes.Equal(out[4:], data[4:n]) || int(data[3]) < n {
			t.Fatalf("round trip: %x -> %x", data[:data[3]], out)
		}
		var q check.BFDPacket
		if err := q.DecodeFromBytes(out); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

// FuzzBFDMachine feeds decoded packets to a session machine: whatever
// arrives, it neither panics nor reports Up to a peer that never named
// its discriminator.
func FuzzBFDMachine(f *testing.F) {
	data, _ := hex.DecodeString(frrUp)
	f.Add(data, uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		m, err := check.NewBFDMachine(&check.BFDSessionConfig{Peer: netip.MustParseAddr("192.0.2.1")}, 2, t0, 1)
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		var out check.BFDPacket
		for len(data) >= 24 {
			var p check.BFDPacket
			n := int(data[3])
			if p.DecodeFromBytes(data) == nil {
				named := p.YourDiscriminator == 2
				if ch, _ := m.Receive(now, &p); ch && m.State() == check.BFDUp && !named {
					t.Fatalf("Up on a packet not naming us: %+v", p)
				}
			}
			now = now.Add(time.Duration(step) * time.Millisecond)
			m.Advance(now, &out)
			if n < 24 {
				n = 24
			}
			data = data[min(n, len(data)):]
		}
	})
}
