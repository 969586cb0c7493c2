package check

import "time"

// Clock is the Monitor's source of time, injected so that tests can drive
// schedules step by step.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a stopped-or-running timer firing after d.
	NewTimer(d time.Duration) Timer
}

// Timer is the one timer the Monitor waits on.
type Timer interface {
	// C delivers the firing time.
	C() <-chan time.Time
	// Reset restarts the timer to fire after d.
	Reset(d time.Duration)
	// Stop stops the timer.
	Stop()
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer wraps time.NewTimer.
func (SystemClock) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (t sysTimer) C() <-chan time.Time   { return t.t.C }
func (t sysTimer) Reset(d time.Duration) { t.t.Reset(d) }
func (t sysTimer) Stop()                 { t.t.Stop() }
