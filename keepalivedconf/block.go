package keepalivedconf

// Piece is a part of a file that starts at the beginning of line Line
// (1-based) of that file.
type Piece struct {
	Data []byte
	Line int
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
	r := c.resolved()
	f := &File{Name: filename, cfg: r}
	for _, pc := range pieces {
		p := newParser(filename, string(pc.Data))
		p.maxDepth = r.Limits.MaxNesting
		p.line = pc.Line - 1
		p.lines(0, len(p.src))
		p.closeAll()
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
