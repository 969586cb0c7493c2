package main

import (
	"context"
	"net/netip"
	"time"

	"github.com/lvskit/lvskit/fwmark"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// handshakeWait bounds the wait for handshakes that began before the SYN
// drop: they complete within a round trip, and HAProxy accepts at once.
const handshakeWait = time.Second

// drain stops the node without failing a request (a planned failover,
// SIGTERM), in this order:
//
//  1. New connections to the VIP are held off: their SYNs are dropped
//     (synDrop), so the clients retransmit them instead of seeing a
//     refusal.
//  2. Handshakes that began before are let finish and be accepted, so that
//     closing HAProxy's listeners resets none (waitHandshakes).
//  3. HAProxy soft-stops (SIGUSR1): it closes its listeners and its idle
//     keep-alive connections, answers the requests in flight with
//     "Connection: close", and exits when the last one ended; it is killed
//     after DrainTimeout.
//  4. Its exit faults the VRRP instance (the down file): the master
//     resigns with a priority 0 advert and the peer takes over after its
//     skew time; the clients' retransmitted SYNs reach the peer.
//
// The VIP stays here until every request HAProxy accepted has ended:
// after the peer's gratuitous ARP the clients' packets of an open
// connection would reach the peer, which has no state for it and resets
// it. New connections wait meanwhile, for the next SYN retransmission
// after the peer took over (1 s when drain and skew time end within it).
// It returns the SYN drop's changes; run undoes them once the VIP is gone.
func (n *node) drain(ctx context.Context) fwmark.Changes {
	n.mu.Lock()
	n.leaving = true
	n.mu.Unlock()
	start := time.Now()
	cs, err := synDrop(n.o).Apply(ctx, "")
	if err != nil {
		// Without the rule the drain still finishes the requests in
		// flight, but new connections are refused once the listeners
		// close.
		n.log.Error("drain: holding new connections off", "err", err)
	}
	pending := n.waitHandshakes(ctx, n.o.VIP.Addr(), handshakeWait)
	n.log.Info("drain: new connections held off", "after", time.Since(start), "handshakes_pending", pending)
	n.stopHAProxy()
	n.log.Info("drain: done", "after", time.Since(start))
	return cs
}

// waitHandshakes waits, bounded by d, until no TCP handshake to addr is
// half done (SYN_RECV) and no accept queue of a listener bound to addr or
// to the wildcard address holds a connection. It returns what was still
// pending at the end (0 unless d ran out).
func (n *node) waitHandshakes(ctx context.Context, addr netip.Addr, d time.Duration) int {
	end := time.Now().Add(d)
	for {
		p, err := handshakesPending(addr)
		if err != nil {
			n.log.Warn("drain: socket diagnostics", "err", err)
			return -1
		}
		if p == 0 || time.Now().After(end) || ctx.Err() != nil {
			return p
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TCP states as inet_diag reports them (include/net/tcp_states.h).
const (
	tcpSynRecv = 3
	tcpListen  = 10
)

// handshakesPending counts the sockets of the caller's network namespace
// that waitHandshakes waits for, through inet_diag.
func handshakesPending(addr netip.Addr) (int, error) {
	pending := 0
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		socks, err := netlink.SocketDiagTCP(fam)
		if err != nil {
			return 0, err
		}
		for _, s := range socks {
			local, _ := netip.AddrFromSlice(s.ID.Source)
			local = local.Unmap()
			switch s.State {
			case tcpSynRecv:
				if local == addr.Unmap() {
					pending++
				}
			case tcpListen:
				if local == addr.Unmap() || local.IsUnspecified() {
					pending += int(s.RQueue)
				}
			}
		}
	}
	return pending, nil
}
