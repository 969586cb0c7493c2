//go:build netns

package vrrp

import (
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestUpdateInPlace updates a running master beside a backup:
// a higher priority, a second VIP, a route and a track script change leave
// it master with its first VIP never off the interface; a priority below
// the peer's hands over through the protocol; a VRID change is refused
// naming the field.
func TestUpdateInPlace(t *testing.T) {
	l := newLAN(t, 2)
	vip := scVIP.Addr()
	both := []int{0, 1}
	// The peer is lvskit (keepalived drops adverts whose address count
	// differs from its own configuration; lvsrouter's reload test reloads
	// both).
	startLvskit(t, l.hosts[1], scLvskit(l, 1, 100))
	cfg := scLvskit(l, 0, 200)
	cfg.TrackScripts = []TrackScript{{Name: "chk", Command: []string{"/bin/true"}, Interval: time.Second}}
	var logBuf lockedBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("router log:\n%s", logBuf.String())
		}
	})
	_, in, _ := runRouter(t, l.hosts[0].Path(), slog.New(slog.NewTextHandler(&logBuf, nil)), cfg)
	l.waitMaster(vip, 0, both, scTimeout, scHold)
	before := in.Stats().Transitions

	// Watch the first VIP while updating.
	var gone atomic.Int32
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for i := 0; i < 100000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if !hasAddr(l.hosts[0], vip) {
				gone.Add(1)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	vip2 := netip.MustParsePrefix("10.77.0.101/32")
	route := Route{Dst: netip.MustParsePrefix("10.99.0.0/24"), Gw: l.v4(1, 24).Addr()}
	next := cfg
	next.Priority = 210
	next.VIPs = append([]VIP{}, append(cfg.VIPs, VIP{Prefix: vip2})...)
	next.Routes = []Route{route}
	next.TrackScripts = []TrackScript{{Name: "chk2", Command: []string{"/bin/true"}, Interval: time.Second, Weight: 5}}
	if err := in.Update(next); err != nil {
		t.Fatal(err)
	}
	h := l.hosts[0].Handle()
	waitFor(t, scTimeout, "second VIP and route", func() bool { return hasAddr(l.hosts[0], vip2.Addr()) && hasRoute(h, route) })
	waitFor(t, scTimeout, "priority 215 (210 + track weight)", func() bool { return in.Stats().Priority == 215 })
	time.Sleep(3 * scIvl)
	close(stop)
	<-watched
	if n := gone.Load(); n != 0 {
		t.Fatalf("first VIP missing in %d samples during the update", n)
	}
	if in.State() != StateMaster || in.Stats().Transitions != before {
		t.Fatalf("state %v, transitions %d -> %d", in.State(), before, in.Stats().Transitions)
	}
	if hasAddr(l.hosts[1], vip) {
		t.Fatal("the peer took the VIP")
	}

	// Dropping the second VIP removes it alone.
	if err := in.Update(cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, scTimeout, "second VIP and route gone", func() bool { return !hasAddr(l.hosts[0], vip2.Addr()) && !hasRoute(h, route) })
	if !hasAddr(l.hosts[0], vip) || in.State() != StateMaster {
		t.Fatal("first VIP or MASTER lost removing the second")
	}

	// Not in place: named, nothing changed.
	bad := cfg
	bad.VRID++
	if err := in.Update(bad); !errors.Is(err, ErrNotUpdatable) {
		t.Fatalf("VRID change: %v", err)
	}

	// Lower than the peer's 100: the peer preempts.
	// The same update adds a notify script to an instance that had none.
	dir := t.TempDir()
	mark := filepath.Join(dir, "backup")
	script := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$*\" > "+mark+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	low := cfg
	low.Priority = 50
	low.Notify = Notify{Backup: []string{script, "to-backup"}}
	if err := in.Update(low); err != nil {
		t.Fatal(err)
	}
	l.waitMaster(vip, 1, both, scTimeout, scHold)
	if in.State() != StateBackup {
		t.Fatalf("state %v after losing the election", in.State())
	}
	waitFor(t, scTimeout, "notify script added by Update", func() bool {
		b, err := os.ReadFile(mark)
		return err == nil && strings.TrimSpace(string(b)) == "to-backup"
	})
}
