package vrrp

import (
	"context"
	"os"
	"strings"
	"sync"
	"time"
)

// startProcesses starts one poller per TrackProcess; each posts its
// state at once and on every change.
func (in *Instance) startProcesses(ctx context.Context, wg *sync.WaitGroup, tps []TrackProcess, gen uint64) {
	for i := range tps {
		t := tps[i]
		key := "process:" + t.Name
		ivl := t.Interval
		if ivl <= 0 {
			ivl = 200 * time.Millisecond
		}
		wg.Go(func() {
			tick := time.NewTicker(ivl)
			defer tick.Stop()
			last := -1
			for {
				if n := countProcesses(&t); n != last {
					if last >= 0 {
						in.r.log.Info("vrrp: tracked process count changed", "instance", in.cfg.Name, "process", t.Name, "count", n)
					}
					last = n
					in.post(event{kind: evTrack, key: key, st: t.status(n), gen: gen})
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		})
	}
}

// countProcesses counts the live (not zombie) processes matching t.
func countProcesses(t *TrackProcess) int {
	d, err := os.Open("/proc")
	if err != nil {
		return 0
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return 0
	}
	n := 0
	for _, pid := range names {
		if pid == "" || pid[0] < '0' || pid[0] > '9' {
			continue
		}
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			continue // gone
		}
		// pid (comm) state ...: comm may hold spaces and parentheses.
		s := string(stat)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open || end+2 >= len(s) || s[end+2] == 'Z' {
			continue
		}
		var cmdline []byte
		if t.FullCommand || len(t.Params) > 0 {
			if cmdline, err = os.ReadFile("/proc/" + pid + "/cmdline"); err != nil {
				continue
			}
		}
		if t.matches(s[open+1:end], cmdline) {
			n++
		}
	}
	return n
}
