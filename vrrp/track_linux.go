package vrrp

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/lvskit/lvskit/internal/proc"
)

// startTrackers starts the goroutines watching what cfg tracks
// (interfaces, scripts, files, external objects); they post evTrack
// events of generation gen. Cancelling the returned function stops them.
// The caller holds the Router's upd mutex or is Run before it sets live.
func (in *Instance) startTrackers(ctx context.Context, wg *sync.WaitGroup, cfg *Config, creds []*proc.Credential, gen uint64) context.CancelFunc {
	ctx, cancel := context.WithCancel(ctx)
	// The Router's subscription reports to the interface and source
	// trackers until they are removed (Run's end takes the subscription
	// down with them).
	var removes []func()
	if ti := slices.Clone(cfg.TrackInterfaces); len(ti) > 0 {
		removes = append(removes, in.watchLinks(ti, "interface:", gen))
	}
	removes = append(removes, in.startOwn(cfg, gen)...) // track_own_linux.go
	for i := range cfg.TrackScripts {
		s, cred := cfg.TrackScripts[i], creds[i]
		wg.Go(func() { in.trackScript(ctx, s, cred, gen) })
	}
	for i := range cfg.TrackFiles {
		f := cfg.TrackFiles[i]
		wg.Go(func() { in.trackFile(ctx, f, gen) })
	}
	in.startExternal(ctx, wg, slices.Clone(cfg.TrackExternal), gen)
	in.startProcesses(ctx, wg, slices.Clone(cfg.TrackProcesses), gen)
	return func() {
		cancel()
		for _, rm := range removes {
			rm()
		}
	}
}

// watchLinks reports the links named in tracked, each under prefix+name,
// through the Router's subscription until the function it returns is
// called.
func (in *Instance) watchLinks(tracked []TrackInterface, prefix string, gen uint64) (remove func()) {
	t := &linkTracker{prefix: prefix, tracked: tracked,
		post: func(key string, st trackStatus) { in.post(event{kind: evTrack, key: key, st: st, gen: gen}) }}
	if err := in.r.ifw.addLinks(t); err != nil {
		in.r.log.Warn("vrrp: track interfaces", "instance", in.cfg.Name, "err", err)
	}
	return func() { in.r.ifw.removeLinks(t) }
}

func (in *Instance) trackScript(ctx context.Context, s TrackScript, cred *proc.Credential, gen uint64) {
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
			in.post(event{kind: evTrack, key: key, st: ifaceStatus(TrackInterface{Weight: s.Weight, Reverse: s.Reverse}, up), gen: gen})
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (in *Instance) trackFile(ctx context.Context, f TrackFile, gen uint64) {
	key := "file:" + f.Path
	t := time.NewTicker(f.Interval)
	defer t.Stop()
	var last *trackStatus
	for {
		st := fileStatus(f)
		if last == nil || *last != st {
			last = &st
			in.post(event{kind: evTrack, key: key, st: st, gen: gen})
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
