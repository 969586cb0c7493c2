//go:build !linux

package main

import (
	"errors"
	"fmt"
)

// subscribeAddrs needs Linux's address events.
func subscribeAddrs(done <-chan struct{}, onErr func(error)) (<-chan addrChange, error) {
	return nil, fmt.Errorf("ha_suspend: address events: %w", errors.ErrUnsupported)
}

// listAddrs needs Linux's netlink.
func listAddrs() ([]ifAddr, error) {
	return nil, fmt.Errorf("ha_suspend: addresses: %w", errors.ErrUnsupported)
}
