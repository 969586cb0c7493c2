package vrrp

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/lvskit/lvskit/internal/proc"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// startTrackers starts the goroutines watching the instance's tracked
// interfaces, scripts and files; they post evTrack events.
func (in *Instance) startTrackers(ctx context.Context, wg *sync.WaitGroup) {
	if len(in.cfg.TrackInterfaces) > 0 {
		wg.Go(func() { in.trackInterfaces(ctx) })
	}
	for i := range in.cfg.TrackScripts {
		s, cred := in.cfg.TrackScripts[i], in.creds.track[i]
		wg.Go(func() { in.trackScript(ctx, s, cred) })
	}
	for i := range in.cfg.TrackFiles {
		f := in.cfg.TrackFiles[i]
		wg.Go(func() { in.trackFile(ctx, f) })
	}
	in.startExternal(ctx, wg)
}

func linkDown(a *netlink.LinkAttrs) bool {
	if a.Flags&net.FlagUp == 0 {
		return true
	}
	return a.OperState == netlink.OperDown || a.OperState == netlink.OperLowerLayerDown || a.OperState == netlink.OperNotPresent
}

func (in *Instance) trackInterfaces(ctx context.Context) {
	ch := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	defer close(done)
	ns := in.r.nsh
	err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{Namespace: &ns, ListExisting: true,
		ErrorCallback: func(err error) {
			if ctx.Err() == nil { // closing the subscription at shutdown also reports
				in.r.log.Warn("vrrp: link subscription", "instance", in.cfg.Name, "err", err)
			}
		}})
	if err != nil {
		in.r.log.Error("vrrp: track interfaces", "instance", in.cfg.Name, "err", err)
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case u, ok := <-ch:
			if !ok {
				return
			}
			a := u.Attrs()
			for _, ti := range in.cfg.TrackInterfaces {
				if ti.Name != a.Name {
					continue
				}
				var st trackStatus
				if linkDown(a) || u.Header.Type == unix.RTM_DELLINK {
					st = trackStatus{fault: ti.Weight == 0, delta: ti.Weight}
				}
				in.post(event{kind: evTrack, key: "interface:" + ti.Name, st: st})
			}
		}
	}
}

func (in *Instance) trackScript(ctx context.Context, s TrackScript, cred *proc.Credential) {
	key := scriptKey(&s)
	up, known := false, false
	ok, bad := 0, 0
	lastErr := ""
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		success, err := runTrackScript(ctx, &s, cred, in.r.cfg.ScriptSecurity)
		if ctx.Err() != nil {
			return
		}
		// Log a failure to run (refused as insecure, timed out, missing)
		// when it starts or changes, not at every interval.
		if msg := errText(err); msg != lastErr {
			lastErr = msg
			if err != nil {
				in.r.log.Warn("vrrp: track script", "instance", in.cfg.Name, "script", key, "err", err)
			}
		}
		if success {
			ok, bad = ok+1, 0
		} else {
			ok, bad = 0, bad+1
		}
		newUp := up
		switch {
		case !known:
			newUp = success
		case !up && ok >= s.Rise:
			newUp = true
		case up && bad >= s.Fall:
			newUp = false
		}
		if !known || newUp != up {
			known, up = true, newUp
			in.post(event{kind: evTrack, key: key, st: scriptStatus(up, s.Weight)})
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (in *Instance) trackFile(ctx context.Context, f TrackFile) {
	key := "file:" + f.Path
	t := time.NewTicker(f.Interval)
	defer t.Stop()
	var last *trackStatus
	for {
		st := fileStatus(f)
		if last == nil || *last != st {
			last = &st
			in.post(event{kind: evTrack, key: key, st: st})
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
