package vrrp

// TrackExternal is a tracked object whose state vrrp does not watch
// itself: the caller reports it on C, true meaning up (lvsrouter feeds a
// BFD session's state for keepalived's track_bfd). It counts as down until
// the first value arrives. With keepalived's weights: Weight 0 faults the
// instance while down; a positive Weight is added to the priority while
// up, a negative one while down; Reverse swaps up and down (and the sign
// of Weight), so "weight 0 reverse" faults the instance while the object
// is up.
type TrackExternal struct {
	Name    string
	Weight  int
	Reverse bool
	C       <-chan bool `json:"-"`
}

// externalStatus maps an external object's state to its contribution.
func externalStatus(t TrackExternal, up bool) trackStatus {
	w := t.Weight
	if t.Reverse {
		up, w = !up, -w
	}
	return scriptStatus(up, w)
}
