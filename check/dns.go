package check

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// DNS is keepalived's DNS_CHECK: one query over UDP, the target up when it
// answers the same question with NOERROR and at least one answer record of
// the asked type.
type DNS struct {
	// Addr is the server's address and port (53 usually).
	Addr netip.AddrPort
	// Name is the name queried; "" means the root ".".
	Name string
	// Type is the query type; zero means SOA, keepalived's default.
	Type dnsmessage.Type
	// Timeout bounds the whole check; zero means 5 s.
	Timeout time.Duration
}

// Check sends one query and waits for its answer.
func (c DNS) Check(ctx context.Context) Result {
	start := time.Now()
	name := c.Name
	if name == "" {
		name = "."
	}
	if name[len(name)-1] != '.' {
		name += "."
	}
	qn, err := dnsmessage.NewName(name)
	if err != nil {
		return down(start, "query name", err)
	}
	qt := c.Type
	if qt == 0 {
		qt = dnsmessage.TypeSOA
	}
	id := uint16(rand.Uint32())
	q := dnsmessage.Question{Name: qn, Type: qt, Class: dnsmessage.ClassINET}
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), dnsmessage.Header{ID: id, RecursionDesired: true})
	b.StartQuestions()
	b.Question(q)
	msg, err := b.Finish()
	if err != nil {
		return down(start, "build query", err)
	}

	ctx, conn, done, err := dial(ctx, "udp", c.Addr, netip.AddrPort{}, c.Timeout)
	if err != nil {
		return down(start, "dial", err)
	}
	defer done()
	if _, err := conn.Write(msg); err != nil {
		return down(start, "send query", ioErr(ctx, err))
	}
	buf := make([]byte, 4096)
	// Skip datagrams that are not the answer to this query; the deadline
	// ends the loop.
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return down(start, "read answer", ioErr(ctx, err))
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil || h.ID != id || !h.Response {
			continue
		}
		qs, err := p.AllQuestions()
		if err != nil || len(qs) != 1 || qs[0].Type != q.Type || !equalName(qs[0].Name, q.Name) {
			continue
		}
		if h.RCode != dnsmessage.RCodeSuccess {
			return failf(start, "rcode %v", h.RCode)
		}
		for {
			a, err := p.Answer()
			if err == dnsmessage.ErrSectionDone {
				return failf(start, "no %v record in answer", qt)
			}
			if err != nil {
				return failf(start, "malformed answer: %v", err)
			}
			if a.Header.Type == qt {
				return up(start)
			}
		}
	}
}

// equalName compares DNS names case-insensitively.
func equalName(a, b dnsmessage.Name) bool {
	return asciiEqualFold(a.Data[:a.Length], b.Data[:b.Length])
}
