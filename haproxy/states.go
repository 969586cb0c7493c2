package haproxy

import (
	"strconv"
	"strings"
)

// AdminState is a server state that "set server ... state" sets.
type AdminState uint8

// Server states accepted by "set server ... state".
const (
	StateReady AdminState = iota + 1
	StateDrain
	StateMaint
)

var adminStates = [...]string{StateReady: "ready", StateDrain: "drain", StateMaint: "maint"}

// String returns HAProxy's word for the state.
func (s AdminState) String() string { return stateName(adminStates[:], int(s), "AdminState") }

// HealthState is a health that "set server ... health" forces.
type HealthState uint8

// Health states accepted by "set server ... health".
const (
	HealthUp HealthState = iota + 1
	HealthStopping
	HealthDown
)

var healthStates = [...]string{HealthUp: "up", HealthStopping: "stopping", HealthDown: "down"}

// String returns HAProxy's word for the state.
func (s HealthState) String() string { return stateName(healthStates[:], int(s), "HealthState") }

// AgentState is an agent state that "set server ... agent" forces.
type AgentState uint8

// Agent states accepted by "set server ... agent".
const (
	AgentUp AgentState = iota + 1
	AgentDown
)

var agentStates = [...]string{AgentUp: "up", AgentDown: "down"}

// String returns HAProxy's word for the state.
func (s AgentState) String() string { return stateName(agentStates[:], int(s), "AgentState") }

// OpState is a server's operational state in "show servers state"
// (srv_op_state).
type OpState uint8

// Operational states, with HAProxy's numbers.
const (
	OpStopped  OpState = 0
	OpStarting OpState = 1
	OpRunning  OpState = 2
	OpStopping OpState = 3
)

var opStates = [...]string{OpStopped: "stopped", OpStarting: "starting", OpRunning: "running", OpStopping: "stopping"}

// String returns the state's name.
func (s OpState) String() string { return stateName(opStates[:], int(s), "OpState") }

// AdminFlags is a server's administrative state in "show servers state"
// (srv_admin_state), a bit field.
type AdminFlags uint8

// Administrative flags, with HAProxy's values (SRV_ADMF_*).
const (
	AdminForcedMaint    AdminFlags = 0x01 // set by the runtime API or "disabled"
	AdminInheritedMaint AdminFlags = 0x02 // from a tracked server
	AdminConfigMaint    AdminFlags = 0x04 // "disabled" in the configuration
	AdminForcedDrain    AdminFlags = 0x08
	AdminInheritedDrain AdminFlags = 0x10
	AdminResolverMaint  AdminFlags = 0x20 // DNS resolution failed
	AdminHostnameMaint  AdminFlags = 0x40 // no address yet
)

var adminFlagNames = []struct {
	f    AdminFlags
	name string
}{
	{AdminForcedMaint, "forced-maint"}, {AdminInheritedMaint, "inherited-maint"},
	{AdminConfigMaint, "config-maint"}, {AdminForcedDrain, "forced-drain"},
	{AdminInheritedDrain, "inherited-drain"}, {AdminResolverMaint, "resolver-maint"},
	{AdminHostnameMaint, "hostname-maint"},
}

// Maint reports whether any maintenance flag is set.
func (f AdminFlags) Maint() bool {
	return f&(AdminForcedMaint|AdminInheritedMaint|AdminConfigMaint|AdminResolverMaint|AdminHostnameMaint) != 0
}

// Drain reports whether a drain flag is set.
func (f AdminFlags) Drain() bool { return f&(AdminForcedDrain|AdminInheritedDrain) != 0 }

// String lists the flags joined by '|', "none" for none.
func (f AdminFlags) String() string {
	if f == 0 {
		return "none"
	}
	var parts []string
	for _, n := range adminFlagNames {
		if f&n.f != 0 {
			parts = append(parts, n.name)
			f &^= n.f
		}
	}
	if f != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(f), 16))
	}
	return strings.Join(parts, "|")
}

// stateName returns names[i], or Type(i) for a value without a name.
func stateName(names []string, i int, typ string) string {
	if i >= 0 && i < len(names) && names[i] != "" {
		return names[i]
	}
	return typ + "(" + strconv.Itoa(i) + ")"
}
