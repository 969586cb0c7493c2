//go:build !linux

package main

import (
	"errors"
	"fmt"
	"net/netip"
)

func addVIP(iface string, p netip.Prefix) (bool, error) {
	return false, fmt.Errorf("vip_interface %s: %w", iface, errors.ErrUnsupported)
}

func delVIP(iface string, p netip.Prefix) error {
	return fmt.Errorf("vip_interface %s: %w", iface, errors.ErrUnsupported)
}
