package check

import "fmt"

// Suspend stops checking the target with the given ID without forgetting
// it, as keepalived's checker does for a ha_suspend virtual server whose
// address is not local: the target keeps its state and counters, reports
// no transition, and starts no check until Resume. A check already in
// flight finishes and its result counts. Suspending a suspended target
// does nothing. Update keeps a target suspended; Remove forgets it.
func (m *Monitor) Suspend(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	e := m.targets.get(id)
	if e == nil {
		return fmt.Errorf("target %q: %w", id, ErrNotFound)
	}
	// Its place in the heap goes stale: pop skips suspended entries.
	e.suspended = true
	return nil
}

// Resume checks a suspended target again, its next check jittered by its
// policy as at Add (keepalived's suspended checker runs again at its next
// delay_loop tick). The target's state and its policy's retry counts are
// those it had when suspended. Resuming a target that is not suspended
// does nothing.
func (m *Monitor) Resume(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	e := m.targets.get(id)
	if e == nil {
		return fmt.Errorf("target %q: %w", id, ErrNotFound)
	}
	if !e.suspended {
		return nil
	}
	e.suspended = false
	if e.running {
		// The check's end puts it back in the heap.
		return nil
	}
	// A new due time makes any place it still has in the heap stale, so
	// it is scheduled exactly once (see dueHeap).
	e.due = m.firstDue(e, m.clock.Now())
	m.pushLocked(e)
	return nil
}
