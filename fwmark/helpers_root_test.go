//go:build netns || vm

package fwmark

import (
	"context"
	"net"
	"testing"
)

// requireAllCounted fails the test unless every element of the installed
// table counted at least one packet: the marks, not luck, carried the
// traffic.
func requireAllCounted(t *testing.T, tab *Table) {
	t.Helper()
	entries, err := tab.Show(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("no mark elements installed")
	}
	for _, e := range entries {
		if e.Packets == 0 {
			t.Errorf("mark element %s counted no packets", e.Rule)
		}
	}
}

// serveConns hands every connection ln accepts to handle, in the
// background, until ln is closed.
func serveConns(ln net.Listener, handle func(net.Conn)) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			handle(c)
		}
	}()
}

// applyConf applies the marks of a config text in the namespace at path netns and
// removes the table when the test ends.
func applyConf(t *testing.T, netns string, conf string) *Table {
	t.Helper()
	cfg, err := Parse(t.Name()+".conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	tab, err := NewTable(&TableConfig{NetNS: netns})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tab.Apply(context.Background(), cfg.Rules); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tab.Remove(context.Background()) })
	return tab
}
