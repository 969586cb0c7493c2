package fwmark

// TableConfig configures NewTable. A nil *TableConfig and the zero value
// mean DefaultTable in the caller's network namespace.
type TableConfig struct {
	// Name of the table; DefaultTable when empty.
	Name string
	// NetNS is the path of the network namespace file to work in
	// ("/run/netns/lb", "/proc/PID/ns/net"); empty means the caller's.
	NetNS string
}

// Entry is one installed rule element (one port or port range of a Rule)
// with its counters.
type Entry struct {
	Rule    Rule
	Packets uint64
	Bytes   uint64
}
