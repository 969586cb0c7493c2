package vrrp

import (
	"context"
	"sync"
)

// startExternal starts one goroutine per TrackExternal, posting its
// state as it arrives; each starts down.
func (in *Instance) startExternal(ctx context.Context, wg *sync.WaitGroup, ext []TrackExternal, gen uint64) {
	for i := range ext {
		t := ext[i]
		key := "external:" + t.Name
		in.post(event{kind: evTrack, key: key, st: externalStatus(t, false), gen: gen})
		if t.C == nil {
			continue
		}
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case up := <-t.C:
					in.post(event{kind: evTrack, key: key, st: externalStatus(t, up), gen: gen})
				}
			}
		})
	}
}
