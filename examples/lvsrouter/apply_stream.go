package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lvskit/lvskit/ipvs"
)

// streamPiece is how many services the first apply computes and hands to
// the kernel at a time (applyStreamed); 0: the whole desired state at
// once, as other applies. A variable for the VM benchmark's A/B runs.
var streamPiece = 256

// errPlanMoved is applyStreamed's error when the plan changed between
// two of its pieces (the retry recomputes everything).
var errPlanMoved = errors.New("plan changed during the first apply")

// applyStreamed is apply's first apply onto a kernel without services
// (none managed yet, the Applier finds none): the desired state is
// computed streamPiece services at a time, each piece handed to an
// ipvs.Stream, which writes and remembers it before the next piece is
// computed into the same memory. At 10,000 services × 4 destinations the
// whole desired state is 8 MB, garbage once the kernel has it, at the
// start's peak; a piece is about 200 KB. done is false when the apply is
// not such a first one: the caller then computes the whole desired state.
//
// The first apply has no scripts to run nor routes to withdraw before
// the kernel change (nothing was up or announced before it), so those
// steps, which apply takes before the kernel change, come after it here.
func (r *Router) applyStreamed(ctx context.Context, t0 time.Time) (done bool, err error) {
	r.mu.Lock()
	p := r.plan
	r.mu.Unlock()
	if streamPiece <= 0 || !r.managed.none(p) || p == nil || len(p.Services) == 0 {
		return false, nil
	}
	if r.applier == nil {
		c, err := ipvs.Dial(ctx, nil)
		if err != nil {
			return true, fmt.Errorf("ipvs: %w", err)
		}
		r.ipvs, r.applier = c, ipvs.NewApplier(c)
	}
	cfg := &ipvs.ApplyConfig{Managed: r.managed.beyond, MaglevOrder: true, Stream: true}
	s, ok, err := r.applier.Stream(ctx, len(p.Services), cfg)
	if err != nil {
		return true, r.applyFailed(err)
	}
	if !ok {
		return false, nil
	}
	u1, s1 := cpuTimes()
	r.managed.plan = true
	// One piece's services and destinations, reused: each destination
	// slice is capped at its own length, so that a sorry server appended
	// moves it out rather than overwrite the next service's.
	var piece []ipvs.Service
	var dests []ipvs.Destination
	var desired time.Duration
	r.mu.Lock()
	r.desiredBegin()
	r.mu.Unlock()
	k := 0 // the real server's position in the plan
	for lo := 0; lo < len(p.Services); lo += streamPiece {
		hi := min(lo+streamPiece, len(p.Services))
		t := time.Now()
		n := 0
		for i := lo; i < hi; i++ {
			n += len(p.Services[i].Reals)
		}
		if cap(dests) < n {
			dests = make([]ipvs.Destination, n)
		}
		clear(piece)
		piece = piece[:0]
		r.mu.Lock()
		if r.plan != p {
			r.mu.Unlock()
			s.End()
			return true, r.applyFailed(errPlanMoved)
		}
		j := 0
		for i := lo; i < hi; i++ {
			m := len(p.Services[i].Reals)
			piece = append(piece, r.desiredService(i, k, dests[j:j:j+m]))
			j += m
			k += m
		}
		r.mu.Unlock()
		maglevOrder(piece)
		desired += time.Since(t)
		if err := s.Add(ctx, piece); err != nil {
			return true, r.applyFailed(err)
		}
	}
	r.phaseEnd("desired")
	traceMark("desired")
	ch, err := s.End()
	if err != nil {
		return true, r.applyFailed(err)
	}
	r.phaseEnd("kernel applied")
	traceMark("acked")
	r.logChanges(ch, desired, time.Since(t0)-desired, u1, s1)
	r.runEvents(false)
	r.mu.Lock()
	bgpWant := r.bgpWant()
	r.mu.Unlock()
	r.bgpBefore(ctx, bgpWant)
	r.bgpAfter(ctx, bgpWant)
	return true, nil
}

// applyFailed is apply's way out after a failed kernel change: the retry
// recomputes everything against the kernel's state.
func (r *Router) applyFailed(err error) error {
	r.mu.Lock()
	r.touchAll()
	r.mu.Unlock()
	return fmt.Errorf("ipvs apply: %w", err)
}

// logChanges logs an apply's kernel changes, with the time spent
// computing the desired state and in the kernel change, and the CPU
// times since u1, s1.
func (r *Router) logChanges(ch ipvs.Changes, desired, kernel, u1, s1 time.Duration) {
	if ch.Len() == 0 {
		return
	}
	u2, s2 := cpuTimes()
	r.log.Info("ipvs", "changes", ch.Len(), "add-service", ch.Count(ipvs.OpNewService),
		"del-service", ch.Count(ipvs.OpDeleteService), "edit-service", ch.Count(ipvs.OpUpdateService),
		"add-server", ch.Count(ipvs.OpNewDestination), "del-server", ch.Count(ipvs.OpDeleteDestination),
		"edit-server", ch.Count(ipvs.OpUpdateDestination),
		"desired", desired.Round(time.Microsecond), "kernel", kernel.Round(time.Microsecond),
		"user", (u2 - u1).Round(time.Millisecond), "sys", (s2 - s1).Round(time.Millisecond))
}
