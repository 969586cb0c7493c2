package vrrp

import (
	"context"
	"errors"
	"fmt"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// watchNet subscribes, in the namespace ns, to the kernel's reports of
// addresses, routes and rules coming and going; it returns once
// subscribed, and a goroutine then calls fn with each change until ctx
// is done. done is closed when that goroutine returns.
func watchNet(ctx context.Context, ns netns.NsHandle, fn func(netChange)) (done <-chan struct{}, err error) {
	s, err := nl.SubscribeAt(ns, netns.None(), unix.NETLINK_ROUTE,
		unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR, unix.RTNLGRP_IPV4_ROUTE,
		unix.RTNLGRP_IPV6_ROUTE, unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE)
	if err != nil {
		return nil, fmt.Errorf("vrrp: netlink subscription: %w", err)
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
					continue // reports were lost; go on with the next ones
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
