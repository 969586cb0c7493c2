package keepalivedconf

import (
	"net/netip"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// configDiff is the difference between two configurations, statements
// compared by position and text.
func configDiff(a, b *Config) string {
	opt := []cmp.Option{cmpopts.IgnoreUnexported(Config{}), cmpopts.EquateErrors(), cmp.Comparer(func(a, b *Stmt) bool { return a == b || a != nil && b != nil && a.Pos == b.Pos && a.Text() == b.Text() }), cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{}, netip.Prefix{})}
	// an ErrorList is an error that EquateErrors finds unequal even to
	// itself: compare the warnings as a slice
	if d := cmp.Diff([]Error(a.Warnings), []Error(b.Warnings), opt...); d != "" {
		return d
	}
	return cmp.Diff(a, b, append(opt, cmpopts.IgnoreFields(Config{}, "Warnings"))...)
}

// sameInArena fails t unless the File parsed in an arena, and the Config
// decoded from it, are those of the plain parse.
func sameInArena(t *testing.T, got, want *File, gerr, werr error) {
	t.Helper()
	if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("in an arena: %v, without: %v", gerr, werr)
	}
	if g, w := positions(got), positions(want); g != w {
		t.Fatalf("positions in an arena\n got %s\nwant %s", g, w)
	}
	if g, w := string(got.Format()), string(want.Format()); g != w {
		t.Fatalf("format in an arena\n got %q\nwant %q", g, w)
	}
	gc, gerr := got.Config()
	wc, werr := want.Config()
	if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("config in an arena: %v, without: %v", gerr, werr)
	}
	if d := configDiff(gc, wc); d != "" {
		t.Fatalf("config in an arena differs (-arena +without):\n%s", d)
	}
}

// TestArenaReuse: a File parsed in an arena that held other files
// before is the File parsed without one, with the same Config; a second
// Config of it (made without the arena) leaves the first intact.
func TestArenaReuse(t *testing.T) {
	var a Arena
	var paths []string
	for _, path := range confFiles(t) {
		if data, err := os.ReadFile(path); err == nil && len(data) > 0 {
			paths = append(paths, path)
		}
	}
	if len(paths) < 2 {
		t.Fatalf("%d test files", len(paths))
	}
	for i, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		pieces := []Piece{{Data: data, Line: 1}}
		got, gerr := (*ParseConfig)(nil).ParsePiecesIn(&a, path, pieces)
		want, werr := (*ParseConfig)(nil).ParsePieces(path, pieces)
		sameInArena(t, got, want, gerr, werr)
		if i == 0 {
			continue
		}
		// the first Config came from the arena; a second one does not
		// overwrite it
		first, _ := got.Config()
		again, _ := got.Config()
		wc, _ := want.Config()
		if d := configDiff(again, wc); d != "" {
			t.Fatalf("%s: a second Config differs (-got +want):\n%s", path, d)
		}
		if d := configDiff(first, wc); d != "" {
			t.Fatalf("%s: a second Config changed the first (-got +want):\n%s", path, d)
		}
	}
}
