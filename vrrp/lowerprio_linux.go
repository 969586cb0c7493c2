package vrrp

import "time"

// lowerPriority is the Machine's LowerPriority hook: as master we heard a
// router with a lower priority that believes it is master. The action
// goroutine sends the garp_lower_prio bursts, so that hosts that followed
// the other router's announcements come back.
func (in *Instance) lowerPriority(now time.Time) {
	in.acts.push(action{t: Transition{At: now}, lowerPrio: true})
}
