package keepalivedconf

import (
	"os"
	"runtime/debug"
	"syscall"
)

// mapMinSize is the size from which readMapped maps a file: below it
// read(2) costs no more than setting up and tearing down a mapping.
const mapMinSize = 1 << 20

// readMapped copies the first len(dst) bytes (the size stat gave) of f
// into dst through a read-only mapping, so that the process copies them
// (vector moves) rather than the kernel in read(2): in a guest without
// hardware virtualization the kernel's copy runs as emulated string moves,
// 39 ms for the 5.8 MB of 10,000 virtual servers × 4 real servers where
// the process's own pass over the same bytes took 8 ms. It returns how
// many bytes it copied: all of them, or 0 when it did not map (a small
// file, a mapping refused, or a fault because the file was truncated
// while mapped); the caller reads the rest with read(2) from there.
func readMapped(f *os.File, size int64, dst []byte) (n int) {
	if size < mapMinSize || int64(len(dst)) != size || int64(int(size)) != size {
		return 0
	}
	if !inMapping(f, int(size), func(m []byte) { n = copy(dst, m) }) {
		return 0
	}
	return n
}

// inMapping runs use over a read-only mapping of f's first size bytes,
// false when f would not map or use faulted (the file truncated under
// the mapping): the mapped read and DiffFile share it.
func inMapping(f *os.File, size int, use func(m []byte)) (ok bool) {
	m, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return false
	}
	defer syscall.Munmap(m)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	use(m)
	return true
}

// inMappedFile runs use over a read-only mapping of the file name, a
// large regular file within max bytes. ok false (and no error) means:
// use did not run to its end over the file as it stayed (a small file,
// a mapping refused, a fault, or a file that changed while mapped: its
// size, modification or change time, or inode); read it with read(2).
func inMappedFile(name string, max int64, use func(m []byte)) (ok bool, err error) {
	f, st, err := openRegular(name, max)
	if err != nil {
		return false, err
	}
	defer f.Close()
	size := st.Size()
	if size < mapMinSize || int64(int(size)) != size {
		return false, nil
	}
	if !inMapping(f, int(size), use) {
		return false, nil
	}
	after, err := f.Stat()
	if err != nil || !sameFileState(st, after) {
		return false, nil
	}
	return true, nil
}

// sameFileState reports whether a and b, stats of one open file, say it
// did not change between them.
func sameFileState(a, b os.FileInfo) bool {
	x, ok1 := a.Sys().(*syscall.Stat_t)
	y, ok2 := b.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime()) &&
		x.Ino == y.Ino && x.Dev == y.Dev && x.Ctim == y.Ctim && x.Mtim == y.Mtim
}
