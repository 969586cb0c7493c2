package keepalivedconf

import (
	"time"
)

// TrackProcess is a vrrp_track_process block: processes watched by name
// (and arguments), whose count makes the tracked object up or down.
type TrackProcess struct {
	Name string
	// Process is the process name: its comm (at most 15 bytes), or with
	// FullCommand the command's first word.
	Process string
	// Params are the arguments after the process name; written, they
	// must match (ParamMatch "exact", the default, or "partial" /
	// "initial") and FullCommand is implied.
	Params      []string `json:",omitempty"`
	ParamMatch  string   `json:",omitempty"`
	FullCommand bool     `json:",omitempty"`
	// Weight (with Reverse) is as a track_script's.
	Weight  int  `json:",omitempty"`
	Reverse bool `json:",omitempty"`
	// Quorum (default 1) and QuorumMax (0: no maximum) bound the number
	// of matching processes for the object to be up.
	Quorum, QuorumMax int
	// Delay, ForkDelay and TerminateDelay postpone the reaction to a
	// process starting or ending (delay sets both).
	ForkDelay, TerminateDelay time.Duration `json:",omitempty"`
	Stmt                      *Stmt         `json:"-"`
}

// trackProcess decodes one vrrp_track_process block.
func (dec *decoder) trackProcess(s *Stmt, body []*Stmt) {
	if !dec.nargs(s, 2) {
		return
	}
	tp := &TrackProcess{Name: s.Arg(1), Stmt: s, Quorum: 1}
	for _, b := range body {
		if !active(b) {
			continue
		}
		dec.noBlock(b)
		switch b.Keyword() {
		case "process":
			if dec.nargs(b, 2) {
				tp.Process = b.Arg(1)
				tp.Params = b.Args()[1:]
				if len(tp.Params) == 0 {
					tp.Params = nil
				} else {
					tp.FullCommand = true
					if tp.ParamMatch == "" {
						tp.ParamMatch = "exact"
					}
				}
			}
		case "param_match":
			if dec.nargs(b, 2) {
				switch v := b.Arg(1); v {
				case "exact", "partial", "initial":
					tp.ParamMatch, tp.FullCommand = v, true
				default:
					dec.d.errorf(b.ArgPos(1), ErrInvalid, "Invalid param_match value %s", v)
				}
			}
		case "weight":
			dec.setInt(&tp.Weight, b, 1, -254, 254)
			if len(b.Tokens) > 2 {
				if b.Arg(2) == "reverse" {
					tp.Reverse = true
				} else {
					dec.d.errorf(b.ArgPos(2), ErrInvalid, "vrrp_track_process %s unknown weight option %s", tp.Name, b.Arg(2))
				}
			}
		case "quorum":
			dec.setInt(&tp.Quorum, b, 1, 1, 65535)
		case "quorum_max":
			dec.setInt(&tp.QuorumMax, b, 1, 0, 65535)
		case "delay":
			dec.setSeconds(&tp.ForkDelay, b, 1, 0, maxTimer)
			tp.TerminateDelay = tp.ForkDelay
		case "fork_delay":
			dec.setSeconds(&tp.ForkDelay, b, 1, 0, maxTimer)
		case "terminate_delay":
			dec.setSeconds(&tp.TerminateDelay, b, 1, 0, maxTimer)
		case "full_command":
			tp.FullCommand = dec.boolArg(b, 1)
		}
	}
	if tp.Process == "" {
		dec.d.errorf(s.Pos, ErrInvalid, "vrrp_track_process %s has no process specified - ignoring", tp.Name)
		return
	}
	if tp.QuorumMax != 0 && tp.QuorumMax < tp.Quorum {
		dec.d.errorf(s.Pos, ErrInvalid, "vrrp_track_process %s quorum_max %d is less than quorum %d", tp.Name, tp.QuorumMax, tp.Quorum)
	}
	dec.cfg.TrackProcesses = append(dec.cfg.TrackProcesses, tp)
}

// TrackRef is a reference from a vrrp_instance to a tracked object, with
// the weight it overrides (nil: the object's own).
type TrackRef struct {
	Name    string
	Weight  *int
	Reverse bool
	Stmt    *Stmt `json:"-"`
}

// trackRefs reads a track_process { NAME [weight N [reverse]] } block.
func (dec *decoder) trackRefs(s *Stmt) []TrackRef {
	var out []TrackRef
	for _, v := range dec.values(s, blockStmts(s)) {
		r := TrackRef{Name: v.Keyword(), Stmt: v}
		if len(v.Tokens) > 2 && v.Arg(1) == "weight" {
			if n, ok := dec.integer(v, 2, -254, 254); ok {
				r.Weight = ptr(int(n))
			}
			r.Reverse = len(v.Tokens) > 3 && v.Arg(3) == "reverse"
		}
		out = append(out, r)
	}
	return out
}
