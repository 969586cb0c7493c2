package keepalivedconf

import "strings"

// NewStmt returns a new statement made of the given words. Words holding
// blanks, braces or comment characters are double-quoted (keepalived's
// reader has no escape for a double quote inside a quoted word, so a word
// cannot hold both a blank and a double quote). Attach the statement with
// (*Block).Add or (*File).Add; its indentation is chosen then.
func NewStmt(words ...string) *Stmt {
	s := &Stmt{Kind: KindStmt}
	s.setWords(words)
	return s
}

// WithBlock gives s an empty block, adds children to it and returns s.
func (s *Stmt) WithBlock(children ...*Stmt) *Stmt {
	s.Block = &Block{OpenLead: " ", OpenTrail: "\n", CloseTrail: "\n", Stmts: children}
	return s
}

func (s *Stmt) setWords(words []string) {
	s.Tokens = make([]Token, len(words))
	for i, w := range words {
		s.Tokens[i] = Token{Text: quoteWord(w)}
	}
	s.form = formEdited
}

// SetArgs replaces the words after the keyword. Only the statement's own
// line changes; its indentation and comment are kept.
func (s *Stmt) SetArgs(args ...string) {
	words := make([]string, 0, 1+len(args))
	if len(s.Tokens) > 0 {
		words = append(words, s.Tokens[0].Text)
	}
	words = append(words, args...)
	kw := s.Tokens
	s.setWords(words)
	if len(kw) > 0 {
		s.Tokens[0] = kw[0]
	}
}

// quoteWord returns w in a form keepalived reads back as w.
func quoteWord(w string) string {
	if w == "" {
		return `""`
	}
	if strings.ContainsAny(w, " \t\"#!{}\\") {
		if !strings.Contains(w, `"`) {
			return `"` + w + `"`
		}
		var b strings.Builder
		for i := 0; i < len(w); i++ {
			if w[i] == '#' || w[i] == '!' {
				b.WriteByte('\\')
			}
			b.WriteByte(w[i])
		}
		return b.String()
	}
	return w
}

// Find returns the first statement of the block with the given keyword.
func (b *Block) Find(keyword string) *Stmt {
	if b == nil {
		return nil
	}
	for _, s := range b.Stmts {
		if s.Keyword() == keyword {
			return s
		}
	}
	return nil
}

// Set gives the first statement with the keyword the new arguments, or adds
// such a statement when there is none. It returns the statement.
func (b *Block) Set(keyword string, args ...string) *Stmt {
	if s := b.Find(keyword); s != nil {
		s.SetArgs(args...)
		return s
	}
	return b.Add(NewStmt(append([]string{keyword}, args...)...))
}

// Remove deletes s (with its line, indentation and comment) from the block
// and reports whether it was there.
func (b *Block) Remove(s *Stmt) bool {
	var ok bool
	b.Stmts, ok = removeStmt(b.Stmts, s)
	return ok
}

// removeStmt returns list without s, in a new array so that slices shared
// with the parser's arena are not overwritten.
func removeStmt(list []*Stmt, s *Stmt) ([]*Stmt, bool) {
	for i, c := range list {
		if c == s {
			return append(list[:i:i], list[i+1:]...), true
		}
	}
	return list, false
}

// Add inserts s after the last statement with the same keyword, or at the
// end of the block, indented like its neighbours. It returns s.
func (b *Block) Add(s *Stmt) *Stmt {
	indent := b.indent()
	b.Stmts = insertStmt(b.Stmts, s, indent)
	if b.Stmts[0] == s && !strings.Contains(b.OpenTrail, "\n") {
		b.OpenTrail = "\n"
	}
	return s
}

// Add inserts a top-level statement after the last one with the same
// keyword, or at the end of the file.
func (f *File) Add(s *Stmt) *Stmt {
	f.Stmts = insertStmt(f.Stmts, s, "")
	return s
}

// Remove deletes a top-level statement and reports whether it was there.
func (f *File) Remove(s *Stmt) bool {
	var ok bool
	f.Stmts, ok = removeStmt(f.Stmts, s)
	return ok
}

// endText returns the text ending the statement's source (its trail, or
// the trail of its closing brace).
func (s *Stmt) endText() string {
	if s.Block != nil && !s.Block.Unclosed {
		return s.Block.CloseTrail
	}
	if s.Block != nil && len(s.Block.Stmts) > 0 {
		return s.Block.Stmts[len(s.Block.Stmts)-1].endText()
	}
	if s.Block != nil {
		return s.Block.OpenTrail
	}
	return s.Trail
}

func (s *Stmt) setEnd(t string) {
	switch {
	case s.Block != nil && !s.Block.Unclosed:
		s.Block.CloseTrail = t
	case s.Block != nil && len(s.Block.Stmts) > 0:
		s.Block.Stmts[len(s.Block.Stmts)-1].setEnd(t)
	case s.Block != nil:
		s.Block.OpenTrail = t
	default:
		s.Trail = t
	}
}

// indent returns the indentation for statements inside b: that of the
// last statement starting a line, else one level more than the '}'.
func (b *Block) indent() string {
	ind, found := "", false
	startsLine := strings.Contains(b.OpenTrail, "\n")
	for _, s := range b.Stmts {
		if startsLine && s.Kind != KindComment && onlyBlanks(s.Lead) {
			ind, found = s.Lead, true
		}
		startsLine = strings.HasSuffix(s.endText(), "\n")
	}
	if found {
		return ind
	}
	base := b.CloseLead
	if !onlyBlanks(base) || !startsLine {
		base = ""
	}
	if strings.Contains(base, "\t") {
		return base + "\t"
	}
	return base + "    "
}

func insertStmt(list []*Stmt, s *Stmt, indent string) []*Stmt {
	kw := s.Keyword()
	at := len(list)
	// keep trailing comment lines after the new statement
	for at > 0 && list[at-1].Kind == KindComment && strings.TrimSpace(list[at-1].Trail) == "" {
		at--
	}
	if kw != "" {
		for i := len(list) - 1; i >= 0; i-- {
			if list[i].Keyword() == kw {
				at = i + 1
				break
			}
		}
	}
	placeNew(s, indent)
	if at > 0 && !strings.HasSuffix(list[at-1].endText(), "\n") {
		// the previous statement shares its line with what follows it
		// (or ends the file): end it, or the new words would join it
		list[at-1].setEnd(list[at-1].endText() + "\n")
	}
	list = append(list, nil)
	copy(list[at+1:], list[at:])
	list[at] = s
	return list
}

// placeNew indents a new statement and ends its line.
func placeNew(s *Stmt, indent string) {
	s.Lead, s.Trail = indent, "\n"
	if s.Block != nil {
		s.Trail = ""
	}
	layout(s, indent)
}

// layout indents the block of a new statement.
func layout(s *Stmt, indent string) {
	if s.Block == nil {
		return
	}
	blk := s.Block
	unit := "    "
	if strings.Contains(indent, "\t") {
		unit = "\t"
	} else if indent != "" && len(indent)%4 != 0 && len(indent)%2 == 0 {
		unit = "  "
	}
	blk.OpenLead, blk.OpenTrail, blk.CloseLead = " ", "\n", indent
	if blk.CloseTrail == "" {
		blk.CloseTrail = "\n"
	}
	for _, c := range blk.Stmts {
		placeNew(c, indent+unit)
	}
}
