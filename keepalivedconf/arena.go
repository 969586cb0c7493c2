package keepalivedconf

// arena hands out elements of chunks it allocates, so that decoding
// thousands of virtual servers makes a few dozen allocations rather than
// several per server. A chunk stays alive while any element is in use.
type arena[T any] struct {
	buf   []T
	total int // capacity allocated so far
}

// reserve makes room for n more elements in one chunk.
func (a *arena[T]) reserve(n int) {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]T, 0, n)
		a.total += n
	}
}

// new returns a pointer to a zero element.
func (a *arena[T]) new() *T {
	if len(a.buf) == cap(a.buf) {
		a.reserve(max(16, a.total/2))
	}
	a.buf = a.buf[:len(a.buf)+1]
	return &a.buf[len(a.buf)-1]
}

// slice returns an empty slice with capacity n; appending beyond n
// reallocates as usual.
func (a *arena[T]) slice(n int) []T {
	if cap(a.buf)-len(a.buf) < n {
		a.reserve(max(n, 16, a.total/2))
	}
	at := len(a.buf)
	a.buf = a.buf[:at+n]
	return a.buf[at : at : at+n]
}

// rewind readies the arena to hand out its memory again, all of it
// zeroed: the elements it handed out before must no longer be in use.
// An arena that needed more than one chunk gets one chunk of them all,
// so that decoding the same amount again allocates nothing.
func (a *arena[T]) rewind() {
	if a.total > cap(a.buf) {
		a.buf = make([]T, 0, a.total)
	} else {
		clear(a.buf[:cap(a.buf)])
		a.buf = a.buf[:0]
	}
	a.total = cap(a.buf)
}
