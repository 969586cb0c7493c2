//go:build !linux

package check

// quickCheck implements quickChecker: off Linux nothing starts on the
// Monitor's loop, and the check runs on a worker.
func (c *HTTP) quickCheck(*quickState) (Result, Checker, bool) { return Result{}, nil, false }

// httpFlight is an HTTP check on the Monitor's poller, which only Linux
// has.
type httpFlight struct{}
