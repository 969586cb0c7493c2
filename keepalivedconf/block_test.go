package keepalivedconf

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// piecesAt cuts data at the newline nearest after cut into two pieces,
// each at its line.
func piecesAt(data []byte, cut int) []Piece {
	cut = min(max(cut, 0), len(data))
	if i := bytes.IndexByte(data[cut:], '\n'); i >= 0 {
		cut += i + 1
	} else {
		cut = len(data)
	}
	return []Piece{{Data: data[:cut], Line: 1}, {Data: data[cut:], Line: bytes.Count(data[:cut], []byte{'\n'}) + 1}}
}

// positions lists every statement's text and file:line:col.
func positions(f *File) string {
	var b strings.Builder
	walk(f.Stmts, func(s *Stmt) {
		fmt.Fprintf(&b, "%s %q\n", s.Pos, s.Text())
		if s.Block != nil {
			fmt.Fprintf(&b, "  { %s } %s\n", s.Block.Open, s.Block.Close)
		}
	})
	return b.String()
}

func TestParsePiecesPositions(t *testing.T) {
	data := []byte("global_defs {\n    router_id a\n}\n# c\nvirtual_server 10.0.0.1 80 {\n    protocol TCP\n    real_server 10.0.1.1 80 {\n        weight x\n    }\n}\n")
	whole, _ := Parse("k.conf", data)
	cut := bytes.Index(data, []byte("# c"))
	f, err := (*ParseConfig)(nil).ParsePieces("k.conf", piecesAt(data, cut))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := positions(f), positions(whole); got != want {
		t.Errorf("positions\n got %s\nwant %s", got, want)
	}
	// Only the second block, at its line: its error names the same place.
	_, werr := whole.Config()
	g, _ := (*ParseConfig)(nil).ParsePieces("k.conf", piecesAt(data, cut)[1:])
	_, gerr := g.Config()
	if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
		t.Errorf("errors differ:\n got %v\nwant %v", gerr, werr)
	}
}

// FuzzParsePieces: a file cut at a line between top-level statements
// parses in pieces to the statements, positions and errors of the whole;
// and the pieces parse in an arena that held the inputs before them to
// the same File and Config as without one.
func FuzzParsePieces(f *testing.F) {
	var a Arena
	for _, path := range confFiles(f) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint16(len(data)/2))
	}
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		pieces := piecesAt(data, int(cut))
		got, gerr := (*ParseConfig)(nil).ParsePieces("fuzz.conf", pieces)
		in, ierr := (*ParseConfig)(nil).ParsePiecesIn(&a, "fuzz.conf", pieces)
		sameInArena(t, in, got, ierr, gerr)
		whole, werr := Parse("fuzz.conf", data)
		head, herr := Parse("fuzz.conf", pieces[0].Data)
		if werr != nil || herr != nil || len(head.Stmts) > 0 && head.Stmts[len(head.Stmts)-1].Block != nil && head.Stmts[len(head.Stmts)-1].Block.Unclosed {
			return // the cut is not between top-level statements
		}
		if gerr != nil {
			t.Fatalf("pieces: %v, whole: no error", gerr)
		}
		if g, w := positions(got), positions(whole); g != w {
			t.Fatalf("positions\n got %s\nwant %s", g, w)
		}
	})
}

// TestCutTop: pieces after each lone '}' in column one, each at its line,
// with its first words; together they are the file.
func TestCutTop(t *testing.T) {
	data := []byte("# head\nglobal_defs {\n    router_id a\n}\n\n! c\nvirtual_server 10.0.0.1 80 {\n    real_server 10.0.1.1 80 {\n    }\n}\nvirtual_server group g {\n}\n# tail\n")
	got := CutTop(data)
	want := []TopPiece{
		{Piece{Data: []byte("# head\nglobal_defs {\n    router_id a\n}\n"), Line: 1}, "global_defs", "{", 4},
		{Piece{Data: []byte("\n! c\nvirtual_server 10.0.0.1 80 {\n    real_server 10.0.1.1 80 {\n    }\n}\n"), Line: 5}, "virtual_server", "10.0.0.1", 6},
		{Piece{Data: []byte("virtual_server group g {\n}\n"), Line: 11}, "virtual_server", "group", 2},
		{Piece{Data: []byte("# tail\n"), Line: 13}, "", "", 1},
	}
	show := func(pcs []TopPiece) string {
		var b strings.Builder
		for _, pc := range pcs {
			fmt.Fprintf(&b, "%d %q %q %q %d\n", pc.Line, pc.Keyword, pc.Arg, pc.Data, pc.Newlines)
		}
		return b.String()
	}
	if show(got) != show(want) {
		t.Errorf("CutTop\n got %s\nwant %s", show(got), show(want))
	}
	if n := len(CutTop(nil)); n != 0 {
		t.Errorf("CutTop(nil): %d pieces", n)
	}
}

// FuzzCutTop: CutTop's pieces are the file, in order, each at its line
// and ending where a lone '}' in column one ends; and whenever they all
// parse without an error as pieces, the file parses without one, to the
// same statements and positions.
func FuzzCutTop(f *testing.F) {
	for _, path := range confFiles(f) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a {\nb \\\n}\n}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pcs := CutTop(data)
		var joined []byte
		var pieces []Piece
		for i, pc := range pcs {
			if pc.Line != bytes.Count(joined, []byte{'\n'})+1 {
				t.Fatalf("piece %d at line %d, want %d", i, pc.Line, bytes.Count(joined, []byte{'\n'})+1)
			}
			joined = append(joined, pc.Data...)
			if i < len(pcs)-1 && (!bytes.HasSuffix(joined, []byte("\n}\n")) || bytes.Contains(joined[len(joined)-len(pc.Data):len(joined)-2], []byte("\n}\n"))) {
				t.Fatalf("piece %d %q does not end at the first lone '}'", i, pc.Data)
			}
			if n := bytes.Count(pc.Data, []byte{'\n'}); n != pc.Newlines {
				t.Fatalf("piece %d: %d newlines, want %d", i, pc.Newlines, n)
			}
			if kw, arg := leadWords(pc.Data); kw != pc.Keyword || arg != pc.Arg {
				t.Fatalf("piece %d: words %q %q, want %q %q", i, pc.Keyword, pc.Arg, kw, arg)
			}
			pieces = append(pieces, pc.Piece)
		}
		if !bytes.Equal(joined, data) {
			t.Fatalf("pieces join to %q", joined)
		}
		got, gerr := (*ParseConfig)(nil).ParsePieces("fuzz.conf", pieces)
		if gerr != nil {
			return
		}
		whole, werr := Parse("fuzz.conf", data)
		if werr != nil {
			t.Fatalf("pieces parse, whole: %v", werr)
		}
		if g, w := positions(got), positions(whole); g != w {
			t.Fatalf("positions\n got %s\nwant %s", g, w)
		}
	})
}

// TestFrozenPiece: a Frozen piece is parsed in place, into the same tree
// as a copied one, and the Config decoded from it holds copies of its
// strings, so that keeping the Config does not keep the piece's memory.
func TestFrozenPiece(t *testing.T) {
	src := "virtual_server 10.0.0.1 80 {\n    real_server 10.0.1.1 80 {\n        HTTP_GET {\n            url {\n                path /health\n                digest 9b3a0c85a887a256d6939da88aabd8cd\n                regex \"ok\"\n            }\n        }\n    }\n}\n"
	data := []byte(src)
	lo := uintptr(unsafe.Pointer(&data[0]))
	in := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		return s != "" && p >= lo && p < lo+uintptr(len(data))
	}
	frozen, err := (*ParseConfig)(nil).ParsePieces("k.conf", []Piece{{Data: data, Line: 1, Frozen: true}})
	if err != nil {
		t.Fatal(err)
	}
	copied, err := (*ParseConfig)(nil).ParsePieces("k.conf", []Piece{{Data: data, Line: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := frozen.Format(), copied.Format(); !bytes.Equal(a, b) || string(a) != src {
		t.Errorf("frozen %q, copied %q", a, b)
	}
	if tok := frozen.Stmts[0].Tokens[0]; !in(tok.Text) {
		t.Errorf("a frozen piece's token %q is a copy", tok.Text)
	}
	if tok := copied.Stmts[0].Tokens[0]; in(tok.Text) {
		t.Errorf("a copied piece's token %q is in the piece's bytes", tok.Text)
	}
	c, err := frozen.Config()
	if err != nil {
		t.Fatal(err)
	}
	u := c.VirtualServers[0].RealServers[0].Checkers[0].(*HTTPCheck).URLs[0]
	for _, s := range []string{u.Path, u.Digest, u.Regex.Pattern} {
		if in(s) {
			t.Errorf("the Config's %q is in the piece's bytes", s)
		}
	}
}
