//go:build !linux

package check

// rawProber sends half-open probes on Linux; elsewhere TCP checks always
// connect.
type rawProber struct {
	// failed is always empty off Linux.
	failed []rawDone
}

// rawDone is a probe's result, found by drain.
type rawDone struct {
	key int32
	r   Result
}

// drain finds nothing off Linux.
func (p *rawProber) drain(_ int, _ uint32, out []rawDone) []rawDone { return out }

// flush has nothing to send off Linux.
func (p *rawProber) flush() {}

// finished has nothing to keep off Linux.
func (p *rawProber) finished(pollOp) {}
