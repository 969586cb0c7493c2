package check_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"golang.org/x/net/dns/dnsmessage"
)

// dnsServer answers queries on a loopback UDP socket with answer(q),
// which returns the raw reply (nil: stay silent).
func dnsServer(t *testing.T, answer func(q []byte) [][]byte) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			for _, r := range answer(append([]byte(nil), buf[:n]...)) {
				pc.WriteTo(r, from)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// zone answers A queries for www.example.test. and NXDOMAIN otherwise.
func zone(q []byte) [][]byte {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil {
		return nil
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) != 1 {
		return nil
	}
	h.Response, h.Authoritative = true, true
	b := dnsmessage.NewBuilder(nil, h)
	b.EnableCompression()
	known := strings.EqualFold(qs[0].Name.String(), "www.example.test.") && qs[0].Type == dnsmessage.TypeA
	if !known {
		h.RCode = dnsmessage.RCodeNameError
		b = dnsmessage.NewBuilder(nil, h)
	}
	b.StartQuestions()
	b.Question(qs[0])
	if known {
		b.StartAnswers()
		b.AResource(dnsmessage.ResourceHeader{Name: qs[0].Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: [4]byte{192, 0, 2, 1}})
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return [][]byte{out}
}

func TestDNS(t *testing.T) {
	noLeaks(t)
	addr := dnsServer(t, zone)
	r := check.DNS{Addr: addr, Name: "WWW.example.test", Type: dnsmessage.TypeA}.Check(context.Background())
	if !r.Up {
		t.Fatalf("%+v, want up", r)
	}
	r = check.DNS{Addr: addr, Name: "nope.example.test", Type: dnsmessage.TypeA, Timeout: time.Second}.Check(context.Background())
	if r.Up {
		t.Fatalf("NXDOMAIN: %+v, want down", r)
	}
	mustContain(t, "Reason", r.Reason, "rcode RCodeNameError")
}

func TestDNSBad(t *testing.T) {
	noLeaks(t)
	for _, tc := range []struct {
		name   string
		answer func(q []byte) [][]byte
		reason string
	}{
		{"silent", func(q []byte) [][]byte { return nil }, "context deadline exceeded"},
		{"garbage then silence", func(q []byte) [][]byte { return [][]byte{[]byte("garbage!")} }, "context deadline exceeded"},
		{"wrong id ignored", func(q []byte) [][]byte {
			r := zone(q)
			r[0][0] ^= 0xff
			return r
		}, "context deadline exceeded"},
		{"truncated answer", func(q []byte) [][]byte {
			r := zone(q)
			r[0] = r[0][:len(r[0])-3]
			return r
		}, "malformed answer"},
		{"no answer records", func(q []byte) [][]byte {
			var p dnsmessage.Parser
			h, _ := p.Start(q)
			qs, _ := p.AllQuestions()
			h.Response = true
			b := dnsmessage.NewBuilder(nil, h)
			b.StartQuestions()
			b.Question(qs[0])
			out, _ := b.Finish()
			return [][]byte{out}
		}, "no TypeA record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := dnsServer(t, tc.answer)
			r := check.DNS{Addr: addr, Name: "www.example.test", Type: dnsmessage.TypeA, Timeout: 300 * time.Millisecond}.Check(context.Background())
			if r.Up {
				t.Fatalf("up: %+v", r)
			}
			mustContain(t, "Reason", r.Reason, tc.reason)
		})
	}
}
