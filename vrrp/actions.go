package vrrp

import "sync"

// action is a transition whose side effects are still to run.
type action struct {
	t    Transition
	prio uint8
	// upd, when set, is an Instance.Update: the action goroutine moves
	// what differs (addresses, routes, rules) and takes the new Config's
	// VIPs, Routes, Rules, GARP, Notify and OnTransition.
	upd *update
	// lowerPrio, when set, is a lower-priority advert heard as master
	// at t.At: send the garp_lower_prio bursts.
	lowerPrio bool
	// prioChange, when set, is a change of the effective priority to
	// prio while in state t.To: call OnPriority.
	prioChange bool
}

// update is the action side of Instance.Update.
type update struct {
	cfg   *Config
	creds scriptCreds
}

// actionQueue passes actions from the engine to the instance's action
// goroutine in order, without ever blocking the engine.
type actionQueue struct {
	mu     sync.Mutex
	q      []action
	closed bool
	sig    chan struct{} // capacity 1
}

func (a *actionQueue) init() { a.sig = make(chan struct{}, 1) }

func (a *actionQueue) push(x action) {
	a.mu.Lock()
	a.q = append(a.q, x)
	a.mu.Unlock()
	a.signal()
}

// close makes the goroutine return once it has run what is queued.
func (a *actionQueue) close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.signal()
}

// signal wakes the goroutine unless a wake-up is already pending.
func (a *actionQueue) signal() {
	select {
	case a.sig <- struct{}{}:
	default:
	}
}

func (a *actionQueue) take(into []action) ([]action, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	into = append(into[:0], a.q...)
	clear(a.q)
	a.q = a.q[:0]
	return into, a.closed
}
