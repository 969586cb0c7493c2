package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lvskit/lvskit/haproxy"
)

// health is one look at haproxy through its runtime API.
type health struct {
	Up       bool // "show info" answered
	Servers  int  // servers of the backend whose status is UP
	Healthy  bool // Up and Servers >= MinServers
	Problem  string
	InFlight int64 // current sessions of the backend
}

// probe asks haproxy's runtime API for "show info" and "show stat" and
// counts the backend's servers that are UP.
func probe(ctx context.Context, rt *haproxy.Runtime, minServers int) health {
	var h health
	if _, err := rt.ShowInfo(ctx); err != nil {
		h.Problem = "show info: " + err.Error()
		return h
	}
	h.Up = true
	rows, err := rt.ShowStat(ctx)
	if err != nil {
		h.Problem = "show stat: " + err.Error()
		return h
	}
	for _, r := range rows {
		if r.Proxy != backendName {
			continue
		}
		switch {
		case r.Type == haproxy.StatBackend:
			h.InFlight = r.Scur
		case r.Type == haproxy.StatServer && r.Active == 1 && strings.HasPrefix(r.Status, "UP"):
			h.Servers++
		}
	}
	h.Healthy = h.Servers >= minServers
	if !h.Healthy {
		h.Problem = fmt.Sprintf("%d servers up, want %d", h.Servers, minServers)
	}
	return h
}

// hysteresis turns probe results into a health state the way keepalived
// treats vrrp_script results: the first result sets the state, then rise
// successes in a row make it healthy and fall failures unhealthy.
type hysteresis struct {
	rise, fall     int
	ok, bad        int
	healthy, known bool
}

// update records one probe result and returns the state and whether it
// changed (the first result always counts as a change).
func (h *hysteresis) update(ok bool) (healthy, changed bool) {
	if ok {
		h.ok, h.bad = h.ok+1, 0
	} else {
		h.ok, h.bad = 0, h.bad+1
	}
	next := h.healthy
	switch {
	case !h.known:
		next = ok
	case !h.healthy && h.ok >= h.rise:
		next = true
	case h.healthy && h.bad >= h.fall:
		next = false
	}
	changed = !h.known || next != h.healthy
	h.known, h.healthy = true, next
	return h.healthy, changed
}

// trackValue is what the track file holds so that vrrp's TrackFile (value
// × Weight added to the priority; with Weight 0 a non-zero value faults)
// gives keepalived's vrrp_script weight semantics: a positive weight is
// added while healthy, a negative one while unhealthy, 0 faults while
// unhealthy.
func trackValue(weight int, healthy bool) int {
	switch {
	case weight > 0 && healthy, weight < 0 && !healthy:
		return 1
	case weight == 0 && !healthy:
		return 1
	}
	return 0
}

func writeTrack(path string, v int) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(v)+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// checkOnce is -check: one probe, for keepalived's vrrp_script.
func checkOnce(o *options) error {
	ctx, cancel := context.WithTimeout(context.Background(), max(o.TrackInterval, time.Second))
	defer cancel()
	rt := haproxy.NewRuntime("unix", o.socket(), nil)
	defer rt.Close()
	h := probe(ctx, rt, o.MinServers)
	if !h.Healthy {
		return errors.New(h.Problem)
	}
	return nil
}

func absDir(d string) string {
	if a, err := filepath.Abs(d); err == nil {
		return a
	}
	return d
}
