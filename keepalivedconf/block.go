package keepalivedconf

import (
	"bytes"
	"unsafe"
)

// Piece is a part of a file that starts at the beginning of line Line
// (1-based) of that file.
type Piece struct {
	Data []byte
	Line int
	// Frozen promises that Data is never written again: the parse then
	// takes its text from Data itself instead of a copy. Whatever keeps
	// a string of the parse (a Token's Text, a string in the Config
	// decoded from it) then keeps Data's memory alive. A reader of a
	// large file that it will not change saves a copy of each piece.
	Frozen bool
}

// text is the piece's bytes as a string: Data itself when Frozen, else
// a copy.
func (pc Piece) text() string {
	if pc.Frozen && len(pc.Data) > 0 {
		return unsafe.String(unsafe.SliceData(pc.Data), len(pc.Data))
	}
	return string(pc.Data)
}

// ParsePieces parses some pieces of one file as one File: its top-level
// statements are the pieces' in order, and each piece's positions count
// from its Line, so that errors and the Config decoded from it name
// file:line:col in the whole file. It lets a caller that knows which
// top-level blocks of a file changed re-read those (and the blocks they
// depend on) without parsing the rest. Each piece should hold whole
// top-level statements. Like Parse, it follows no include: decode a File
// with directives only after checking, or read the whole file with
// ParseFile.
func (c *ParseConfig) ParsePieces(filename string, pieces []Piece) (*File, error) {
	return c.ParsePiecesIn(nil, filename, pieces)
}

// Arena is memory that one parse leaves to the next: ParsePiecesIn
// builds its syntax tree in the arena's statements, blocks and tokens,
// overwriting the tree of the arena's previous parse. A reader that
// parses a large file a few blocks at a time, and keeps only what it
// derives from each (no Stmt, Block or Token, nor the Config decoded
// from them), then allocates the tree's memory once rather than once
// per part: in a guest where every fresh page is a slow fault, that is
// most of the read's cost. The zero Arena is ready to use; one Arena
// serves one goroutine at a time.
type Arena struct {
	stmts  []Stmt
	blocks []Block
	toks   []Token
	lists  []*Stmt

	// dec holds the decoder's arenas; owner is the File whose first
	// Config may use them, and lent is set once it has.
	dec   decodeArenas
	owner *File
	lent  bool
}

// reset readies the arena for parsing pieces: it clears what the last
// parse left (the parser takes an element as zero) and makes room for
// the pieces' statements in one chunk of each kind, as newParser sizes
// a parser's arenas.
func (a *Arena) reset(pieces []Piece) {
	lines, closes, opens := 0, 0, 0
	for _, pc := range pieces {
		lines += bytes.Count(pc.Data, []byte{'\n'}) + 1
		closes += bytes.Count(pc.Data, []byte{'}'})
		opens += bytes.Count(pc.Data, []byte{'{'})
	}
	stmts, toks, blocks := arenaSizes(lines, closes, opens)
	a.stmts = reuse(a.stmts, stmts)
	a.toks = reuse(a.toks, toks)
	a.blocks = reuse(a.blocks, blocks)
	a.lists = reuse(a.lists, stmts)
	a.dec.rewind()
	a.owner, a.lent = nil, false
}

// reuse returns s emptied and zeroed when it holds n elements, else a
// new slice of capacity n.
func reuse[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, 0, n)
	}
	clear(s[:cap(s)])
	return s[:0]
}

// ParsePiecesIn is ParsePieces building the tree in a (nil: in memory of
// its own). The File it returns, and the Config decoded from it, are
// valid until a's next parse.
func (c *ParseConfig) ParsePiecesIn(a *Arena, filename string, pieces []Piece) (*File, error) {
	r := c.resolved()
	f := &File{Name: filename, cfg: r}
	if a != nil {
		a.reset(pieces)
		a.owner, f.arena = f, a
	}
	for _, pc := range pieces {
		var p *parser
		if a != nil {
			p = &parser{src: pc.text(), name: filename, stmts: a.stmts, blocks: a.blocks, toks: a.toks, lists: a.lists}
		} else {
			p = newParser(filename, pc.text())
		}
		p.maxDepth = r.Limits.MaxNesting
		p.line = pc.Line - 1
		p.lines(0, len(p.src))
		p.closeAll()
		if a != nil {
			a.stmts, a.blocks, a.toks, a.lists = p.stmts, p.blocks, p.toks, p.lists
		}
		f.Stmts = append(f.Stmts, p.top...)
		f.syntax = append(f.syntax, p.d.list...)
		f.size += len(pc.Data)
		f.directives = f.directives || p.directives
	}
	f.syntax = f.syntax.capped(r.Limits.MaxErrors)
	return f, f.syntax.Err()
}

// ParseData is ParseFile for a file whose bytes the caller has read
// already (with ReadFile): it parses data as filename, follows its
// includes and expands it. A caller that keeps data can tell later
// whether the file changed, and where.
func (c *ParseConfig) ParseData(filename string, data []byte) (*File, error) {
	return c.resolved().parseData(filename, string(data))
}

// parseData parses, follows and expands a file read into a string the
// tree shares.
func (r *ParseConfig) parseData(filename, data string) (*File, error) {
	f, _ := r.parseSource(filename, data)
	f.followed = true
	f.expanded = r.expand(f, data)
	return f, f.expanded.syntax.Err()
}

// HasDirectives reports whether the file has statements that expansion
// applies (include, $NAME=value, $NAME, ~SEQ/~LST, @id): a File without
// them is its own expansion, and its Config needs no file but its own.
func (f *File) HasDirectives() bool { return f.directives }

// TopPiece is a Piece that a quick scan takes for one top-level block,
// with the first two words of its first line that is neither blank nor
// a comment (as "virtual_server", "10.0.0.1"; empty for a piece without
// one).
type TopPiece struct {
	Piece
	Keyword, Arg string
	// Newlines is how many newlines Data holds: the piece's last line is
	// Line+Newlines-1 when Data ends with one.
	Newlines int
}

// CutTop cuts data into pieces just after each line that holds a lone
// '}' in column one, which ends a top-level block in any file laid out
// the usual way; the last piece runs to the end of data. It parses
// nothing and allocates only the result, so that a caller can read a
// large file a few blocks at a time with ParsePieces instead of holding
// the syntax tree of all of it. The cut is a guess that the caller must
// check: a cut inside a block leaves a piece with a block open (or a
// stray '}'), which ParsePieces reports, and a piece may hold more than
// one statement where blocks end otherwise.
func CutTop(data []byte) []TopPiece {
	// One pass, room for a piece per 256 bytes (a top-level block is
	// usually larger): counting the cuts first was a second search of
	// the file, and a large array's untouched tail costs no memory.
	out := make([]TopPiece, 0, len(data)/256+1)
	start, line := 0, 1
	for start < len(data) {
		end := cutAfter(data, start)
		if end < 0 {
			end = len(data)
		}
		pc := TopPiece{Piece: Piece{Data: data[start:end:end], Line: line}}
		pc.Keyword, pc.Arg = leadWords(pc.Data)
		pc.Newlines = bytes.Count(pc.Data, []byte{'\n'})
		out = append(out, pc)
		line += pc.Newlines
		start = end
	}
	return out
}

// cutAfter returns the offset just after the first "\n}\n" that starts
// at or after from, or -1. It looks for the '}' and checks the bytes
// around it: a '}' is a tenth as frequent as a newline in a typical
// file, and bytes.Index stops at every newline (in a guest without
// hardware virtualization the search was 5 % of the start's CPU time).
func cutAfter(data []byte, from int) int {
	for i := from + 1; i < len(data); {
		k := bytes.IndexByte(data[i:], '}')
		if k < 0 {
			return -1
		}
		j := i + k
		if data[j-1] == '\n' && j+1 < len(data) && data[j+1] == '\n' {
			return j + 2
		}
		i = j + 1
	}
	return -1
}

// leadWords returns the first two words of the first line of b that is
// neither blank nor a comment. Words are separated by ASCII blanks, as
// keepalived splits them; the usual words are constants, so that cutting
// a file of 10,000 blocks allocates little more than its pieces.
func leadWords(b []byte) (kw, arg string) {
	for len(b) > 0 {
		l := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			l, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		w, rest := nextWord(l)
		if len(w) == 0 || w[0] == '#' || w[0] == '!' {
			continue
		}
		a, _ := nextWord(rest)
		return word(w), word(a)
	}
	return "", ""
}

// nextWord returns the first word of l and what follows it.
func nextWord(l []byte) (w, rest []byte) {
	i := 0
	for i < len(l) && isSpace(l[i]) {
		i++
	}
	j := i
	for j < len(l) && !isSpace(l[j]) {
		j++
	}
	return l[i:j], l[j:]
}

// word returns w as a string, a constant for the words that start most
// top-level blocks.
func word(w []byte) string {
	switch string(w) {
	case "virtual_server":
		return "virtual_server"
	case "group":
		return "group"
	case "{":
		return "{"
	case "fwmark":
		return "fwmark"
	case "vrrp_instance":
		return "vrrp_instance"
	case "real_server":
		return "real_server"
	}
	return string(w)
}
