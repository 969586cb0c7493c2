package keepalivedconf

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
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
// parses in pieces to the statements, positions and errors of the whole.
func FuzzParsePieces(f *testing.F) {
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
