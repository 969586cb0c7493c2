package vrrp

import (
	"context"
	"errors"
	"net"
	"time"
)

func (r *Router) readLoop(ctx context.Context, k connKey, c *rawConn) {
	buf := make([]byte, 9216)
	var p Packet
	insts := r.byConn[k]
	for ctx.Err() == nil {
		n, info, err := c.read(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			if errors.Is(err, ErrInvalid) { // a malformed IPv4 header
				r.drops.Add(DropLength)
				continue
			}
			r.log.Warn("vrrp: read", "ifindex", k.ifindex, "err", err)
			time.Sleep(10 * time.Millisecond) // avoid spinning on a persistent error
			continue
		}
		now := time.Now()
		mode, reason := Parse(buf[:n], info, &p)
		if reason != DropNone {
			r.drops.Add(reason)
			continue
		}
		in := insts[p.VRID]
		if in == nil {
			r.drops.Add(DropVRID)
			continue
		}
		r.lock() // Update changes expect under the engine lock
		if reason := in.expect.Check(&p, info); reason != DropNone {
			r.unlock()
			in.stats.drops.Add(reason)
			continue
		}
		if mode == ChecksumMessageOnly && p.Version == 3 {
			in.stats.checksumMessageOnly.Add(1)
		} else if p.Version == 3 {
			in.stats.checksumPseudo.Add(1)
		}
		in.stats.received.Add(1)
		in.handle(event{kind: evAdvert, at: now, src: info.Src, prio: p.Priority, ivl: p.Interval})
		r.unlock()
	}
}
