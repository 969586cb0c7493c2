//go:build !linux

package fwmark

import "context"

// Apply fails off Linux (errors.ErrUnsupported).
func (d SYNDrop) Apply(context.Context, string) (Changes, error) { return nil, errNotLinux }

// Remove fails off Linux (errors.ErrUnsupported).
func (d SYNDrop) Remove(context.Context, string) (bool, error) { return false, errNotLinux }
