package vrrp

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"sync"
	"time"

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
		s := in.cfg.TrackScripts[i]
		wg.Go(func() { in.trackScript(ctx, s) })
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

func (in *Instance) trackScript(ctx context.Context, s TrackScript) {
	key := "script:" + s.Name
	if s.Name == "" {
		key = "script:" + strings.Join(s.Command, " ")
	}
	up, known := false, false
	ok, bad := 0, 0
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, s.Timeout)
		err := exec.CommandContext(rctx, s.Command[0], s.Command[1:]...).Run()
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			ok, bad = ok+1, 0
		} else {
			ok, bad = 0, bad+1
		}
		newUp := up
		switch {
		case !known:
			newUp = err == nil
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
