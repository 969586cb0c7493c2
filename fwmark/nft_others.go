//go:build !linux

package fwmark

import "context"

// Table is the nftables table lvskit owns for firewall marks. nftables
// exists only on Linux: elsewhere every method fails with an error wrapping
// errors.ErrUnsupported.
type Table struct{ name string }

// NewTable fails off Linux (errors.ErrUnsupported).
func NewTable(*TableConfig) (*Table, error) { return nil, errNotLinux }

// Name returns the table's name.
func (t *Table) Name() string { return t.name }

// Close does nothing off Linux.
func (t *Table) Close() error { return nil }

// Apply fails off Linux (errors.ErrUnsupported).
func (t *Table) Apply(context.Context, Rules) (bool, error) { return false, errNotLinux }

// Remove fails off Linux (errors.ErrUnsupported).
func (t *Table) Remove(context.Context) (bool, error) { return false, errNotLinux }

// Show fails off Linux (errors.ErrUnsupported).
func (t *Table) Show(context.Context) ([]Entry, error) { return nil, errNotLinux }

// Apply fails off Linux (errors.ErrUnsupported).
func (r RealServer) Apply(context.Context, string) (Changes, error) { return nil, errNotLinux }

// Remove fails off Linux (errors.ErrUnsupported).
func (r RealServer) Remove(context.Context, string) (bool, error) { return false, errNotLinux }

// Apply fails off Linux (errors.ErrUnsupported).
func (l LocalDelivery) Apply(context.Context, string) (Changes, error) { return nil, errNotLinux }
