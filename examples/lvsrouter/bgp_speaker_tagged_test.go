//go:build netns || vm

package main

import "testing"

// needSpeaker makes testSpeaker's program before a test starts routers
// in processes of their own, which then find it in their environment. In
// the guest, which has no go command, make test-vm passes
// bin/lvsrouter-bgp in.
func needSpeaker(t testing.TB) {
	t.Helper()
	if _, err := testSpeaker(); err != nil {
		t.Fatal(err)
	}
}
