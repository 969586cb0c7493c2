package check_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
)

// udpServer replies reply(payload) to each datagram (nil: silence).
func udpServer(t *testing.T, reply func(p []byte) []byte) netip.AddrPort {
	return dnsServer(t, func(q []byte) [][]byte {
		if r := reply(q); r != nil {
			return [][]byte{r}
		}
		return nil
	})
}

func closedUDPPort(t *testing.T) netip.AddrPort {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	pc.Close()
	return ap
}

func TestUDP(t *testing.T) {
	noLeaks(t)
	echo := udpServer(t, func(p []byte) []byte { return p })
	silent := udpServer(t, func(p []byte) []byte { return nil })
	to := 200 * time.Millisecond
	for _, tc := range []struct {
		name   string
		c      check.UDP
		up     bool
		reason string
	}{
		{"echo", check.UDP{Addr: echo, Payload: []byte("ping"), RequireReply: true, MinReply: 4, MaxReply: 4}, true, ""},
		{"reply too short", check.UDP{Addr: echo, Payload: []byte("ping"), RequireReply: true, MinReply: 8}, false, "reply of 4 bytes, want 8..65535"},
		{"reply too long", check.UDP{Addr: echo, Payload: []byte("ping"), RequireReply: true, MaxReply: 2}, false, "reply of 4 bytes, want 0..2"},
		{"silent, no reply needed", check.UDP{Addr: silent, Payload: []byte("x")}, true, ""},
		{"silent, reply needed", check.UDP{Addr: silent, Payload: []byte("x"), RequireReply: true}, false, "deadline exceeded"},
		{"closed port", check.UDP{Addr: closedUDPPort(t), Payload: []byte("x")}, false, "port unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			c.Timeout = to
			r := c.Check(context.Background())
			if r.Up != tc.up {
				t.Fatalf("Up = %v, want %v (%+v)", r.Up, tc.up, r)
			}
			if !tc.up {
				mustContain(t, "Reason", r.Reason, tc.reason)
			}
			if tc.name == "closed port" && !errors.Is(r.Err, syscall.ECONNREFUSED) {
				t.Errorf("Err = %v, want ECONNREFUSED", r.Err)
			}
		})
	}
}
