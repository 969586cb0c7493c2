package vrrp

import "testing"

func TestTrackProcessMatches(t *testing.T) {
	cmd := []byte("/usr/sbin/haproxy\x00-f\x00/etc/haproxy.cfg\x00")
	for _, tc := range []struct {
		tp   TrackProcess
		comm string
		want bool
	}{
		{TrackProcess{Process: "haproxy"}, "haproxy", true},
		{TrackProcess{Process: "haproxy"}, "haproxy-old", false},
		{TrackProcess{Process: "/usr/sbin/haproxy", FullCommand: true}, "haproxy", true},
		{TrackProcess{Process: "haproxy", FullCommand: true}, "haproxy", false},
		{TrackProcess{Process: "/usr/sbin/haproxy", Params: []string{"-f", "/etc/haproxy.cfg"}}, "haproxy", true},
		{TrackProcess{Process: "/usr/sbin/haproxy", Params: []string{"-f"}}, "haproxy", false},
	} {
		if got := tc.tp.matches(tc.comm, cmd); got != tc.want {
			t.Errorf("%+v on %q: %v", tc.tp, tc.comm, got)
		}
	}
}

// The object is up while the count is within [Quorum, QuorumMax]; weight
// 0 faults the instance while down, reverse swaps.
func TestTrackProcessStatus(t *testing.T) {
	tp := TrackProcess{Quorum: 2, QuorumMax: 3}
	for n, fault := range map[int]bool{0: true, 1: true, 2: false, 3: false, 4: true} {
		if st := tp.status(n); st.fault != fault {
			t.Errorf("count %d: %+v", n, st)
		}
	}
	if st := (&TrackProcess{Weight: -10}).status(0); st.fault || st.delta != -10 {
		t.Errorf("weight -10, none running: %+v", st)
	}
	if st := (&TrackProcess{Reverse: true}).status(1); !st.fault {
		t.Errorf("reverse, one running: %+v", st)
	}
}
