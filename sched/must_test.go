package sched

// must returns v and stops the test (by panicking, which fails it with the
// error and a stack) when err is set: setup steps are checked, never
// ignored.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
