package vrrp

import (
	"bytes"
	"slices"
	"time"
)

// TrackProcess watches processes by name, as keepalived's
// vrrp_track_process does: the object is up while the number of matching
// processes is at least Quorum (default 1) and, when QuorumMax is set, at
// most QuorumMax. Weight and Reverse are as in TrackExternal. The process
// table (/proc) is read every Interval (default 200 ms), so a change is
// seen well within an advertisement interval.
type TrackProcess struct {
	Name string
	// Process is matched against a process's comm (the first 15 bytes of
	// its executable's name), or, with FullCommand, against the first
	// word of its command line.
	Process     string
	FullCommand bool
	// Params, when set, must equal the rest of the command line, word
	// for word (keepalived's param_match exact; it implies FullCommand).
	Params            []string
	Quorum, QuorumMax int
	Weight            int
	Reverse           bool
	Interval          time.Duration
}

// matches reports whether a process with the given comm and NUL-separated
// command line is one of t's.
func (t *TrackProcess) matches(comm string, cmdline []byte) bool {
	if !t.FullCommand && len(t.Params) == 0 {
		return comm == t.Process
	}
	args := bytes.Split(bytes.TrimSuffix(cmdline, []byte{0}), []byte{0})
	if len(args) == 0 || string(args[0]) != t.Process {
		return false
	}
	if len(t.Params) == 0 && !t.FullCommand {
		return true
	}
	if t.Params == nil {
		return true // full_command without params: any arguments
	}
	return slices.EqualFunc(args[1:], t.Params, func(a []byte, b string) bool { return string(a) == b })
}

// status maps a count of matching processes to the object's contribution.
func (t *TrackProcess) status(n int) trackStatus {
	up := n >= max(t.Quorum, 1) && (t.QuorumMax == 0 || n <= t.QuorumMax)
	return externalStatus(TrackExternal{Weight: t.Weight, Reverse: t.Reverse}, up)
}
