package main

import (
	"fmt"

	"github.com/lvskit/lvskit/vrrp"
)

// groupStates follows each sync group's state from its members'
// transitions, as keepalived's sync group does, for the group's notify
// scripts, FIFO lines and mail. At startup the group takes the first
// state a member reports (keepalived announces the group's BACKUP or
// FAULT before its instances'); afterwards the group enters a state once
// every member is in it, so the members' own scripts run first (keepalived
// syncs the other members and then notifies for the group), and STOP once
// every member has stopped.
type groupStates struct {
	of      map[string]string            // instance -> its sync group
	members map[string]map[string]string // group -> instance -> state
	state   map[string]string            // group -> state
}

// reset follows the sync groups of p, keeping what is known of groups
// that stay.
func (g *groupStates) reset(p *Plan) {
	old := *g
	*g = groupStates{of: map[string]string{}, members: map[string]map[string]string{}, state: map[string]string{}}
	for _, sg := range p.SyncGroups {
		m := map[string]string{}
		for _, in := range sg.Members {
			g.of[in] = sg.Name
			m[in] = old.members[sg.Name][in]
		}
		g.members[sg.Name] = m
		g.state[sg.Name] = old.state[sg.Name]
	}
}

// member records an instance's new state and returns its group and the
// group's new state when the group changes state.
func (g *groupStates) member(name, state string, fromInit bool) (group, to string, changed bool) {
	group, ok := g.of[name]
	if !ok {
		return "", "", false
	}
	m := g.members[group]
	m[name] = state
	cur := g.state[group]
	if cur == state {
		return group, state, false
	}
	if cur == "" && fromInit && state != "STOP" {
		g.state[group] = state
		return group, state, true
	}
	for _, s := range m {
		if s != state {
			return group, cur, false
		}
	}
	g.state[group] = state
	return group, state, true
}

// groupTransition is vrrp's OnNotified for every instance: once a
// member's own notify scripts for a transition have run, it moves the
// member's sync group and runs the group's notify scripts, writes its
// FIFO line and sends its mail, so that the group's scripts start after
// its members', as keepalived starts them.
func (r *Router) groupTransition(name string, t vrrp.Transition) {
	st := stateName(t)
	r.mu.Lock()
	group, to, changed := r.groups.member(name, st, t.From == vrrp.StateInit)
	if !changed {
		r.mu.Unlock()
		return
	}
	n := r.plan.GroupNotify[group]
	var specific []string
	switch to {
	case "MASTER":
		specific = n.Master
	case "BACKUP":
		specific = n.Backup
	case "FAULT":
		specific = n.Fault
	case "STOP":
		specific = n.Stop
	}
	if specific != nil {
		r.events = append(r.events, specific)
	}
	if n.Notify != nil {
		r.events = append(r.events, append(append([]string(nil), n.Notify...), "GROUP", group, to, "0"))
	}
	m := r.mail
	r.mu.Unlock()
	r.log.Info(fmt.Sprintf("VRRP_Group(%s) Syncing instances to %s state", group, to))
	r.ops.mu.Lock()
	f := r.ops.fifo
	r.ops.mu.Unlock()
	f.write(fmt.Sprintf("GROUP \"%s\" %s 0", group, to))
	m.vrrpState(true, group, to)
	r.runEvents(false)
}
