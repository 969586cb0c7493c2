package vrrp

import (
	"context"
	"errors"
	"fmt"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// entryGroups are the rtnetlink groups reporting addresses, routes and
// rules coming and going.
var entryGroups = []uint{unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR, unix.RTNLGRP_IPV4_ROUTE,
	unix.RTNLGRP_IPV6_ROUTE, unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE}

// watchRcvBuf is the subscription's receive buffer: a thousand masters
// adding their VIPs at once report a few thousand changes faster than the
// reader may get a CPU, and the default (net.core.rmem_default, 208 KiB
// on Debian) holds about 300 (measured: one overflow in each takeover of
// BenchmarkInstances1000). The kernel charges only what is queued.
const watchRcvBuf = 4 << 20

// watchNet subscribes, in the namespace ns, to the kernel's reports in
// the rtnetlink groups given; it returns once subscribed, and a goroutine
// then calls fn with each change it decodes until ctx is done, and lost
// (unless nil) when the kernel dropped reports for want of buffer space.
// done is closed when that goroutine returns.
func watchNet(ctx context.Context, ns netns.NsHandle, groups []uint, fn func(netChange), lost func()) (done <-chan struct{}, err error) {
	s, err := nl.SubscribeAt(ns, netns.None(), unix.NETLINK_ROUTE, groups...)
	if err != nil {
		return nil, fmt.Errorf("vrrp: netlink subscription: %w", err)
	}
	// Past net.core.rmem_max with CAP_NET_ADMIN, up to it without.
	if s.SetReceiveBufferSize(watchRcvBuf, true) != nil {
		_ = s.SetReceiveBufferSize(watchRcvBuf, false)
	}
	ch := make(chan struct{})
	go func() {
		<-ctx.Done()
		s.Close() // wakes Receive
	}()
	go func() {
		defer close(ch)
		for {
			msgs, _, err := s.Receive()
			if err != nil {
				if errors.Is(err, unix.ENOBUFS) && ctx.Err() == nil {
					if lost != nil {
						lost()
					}
					continue // go on with the next reports
				}
				return // closed at the end of ctx, or broken
			}
			for _, m := range msgs {
				if c, ok := decodeNetChange(m.Header.Type, m.Data); ok {
					fn(c)
				}
			}
		}
	}()
	return ch, nil
}
