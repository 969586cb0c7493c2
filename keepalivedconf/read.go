package keepalivedconf

import (
	"runtime"
	"strings"
	"sync"
)

// Parse parses one keepalived configuration file into a lossless syntax
// tree. include statements, definitions, conditionals and ~SEQ lines stay
// as statements; ParseFile and (*File).Expand apply them.
//
// Parse always returns a File that formats back to exactly data. The error,
// an ErrorList, reports structural problems keepalived also reports (an
// extra '}', a missing '}', an unexpected '{', an unterminated quote), so
// that a broken file can still be inspected and repaired.
//
// Parse applies the default Limits; use ParseConfig.Parse for others.
func Parse(filename string, data []byte) (*File, error) {
	return (*ParseConfig)(nil).Parse(filename, data)
}

// Parse is Parse with c's limits (nil: the defaults). Blocks nested deeper
// than Limits.MaxNesting end the parse with an error; the rest of the
// source is kept as one opaque statement, so that the File still formats
// back to data.
func (c *ParseConfig) Parse(filename string, data []byte) (*File, error) {
	return c.resolved().parseSource(filename, string(data))
}

// parseSource is Parse of src, which the tree's strings share; r is
// resolved.
func (r *ParseConfig) parseSource(filename, src string) (*File, error) {
	p := parse(filename, src, r.Limits.MaxNesting)
	p.d.list = p.d.list.capped(r.Limits.MaxErrors)
	f := &File{Name: filename, Stmts: p.top, size: len(src), syntax: p.d.list, cfg: r, directives: p.directives}
	return f, p.d.list.Err()
}

// parallelParseMin is the source size from which parse splits the work
// across processors.
const parallelParseMin = 1 << 20

// parse parses src. A large source is cut into pieces at lines holding a
// lone '}' in column one, which end a top-level block in any file laid out
// the usual way, and the pieces are parsed at the same time. The cut is a
// guess: it holds when every piece but the last ends with no block open,
// which is checked afterwards, and otherwise src is parsed again in one
// piece. Either way the result is the same as parsing in one piece.
func parse(name, src string, maxDepth int) *parser {
	return parseInDepth(name, src, runtime.GOMAXPROCS(0), parallelParseMin, maxDepth)
}

// parseIn parses src in up to n pieces of at least minPiece/2 bytes.
func parseIn(name, src string, n, minPiece int) *parser {
	return parseInDepth(name, src, n, minPiece, DefaultMaxNesting)
}

// parseInDepth is parseIn with a bound on block nesting.
func parseInDepth(name, src string, n, minPiece, maxDepth int) *parser {
	cuts := cutPoints(src, n, minPiece)
	if len(cuts) == 0 {
		return parseWhole(name, src, maxDepth)
	}
	bounds := append(append([]int{0}, cuts...), len(src))
	ps := make([]*parser, len(bounds)-1)
	var wg sync.WaitGroup
	for k := range ps {
		// each piece's arenas are sized for the piece; its parser reads
		// the whole source, so that positions and lookbehinds are right
		ps[k] = newParser(name, src[bounds[k]:bounds[k+1]])
		ps[k].maxDepth = maxDepth
		ps[k].src = src
		ps[k].line = strings.Count(src[:bounds[k]], "\n")
		if k > 0 {
			wg.Go(func() { ps[k].lines(bounds[k], bounds[k+1]) })
		}
	}
	ps[0].lines(0, bounds[1])
	wg.Wait()
	for _, p := range ps[:len(ps)-1] {
		if len(p.stack) > 0 {
			return parseWhole(name, src, maxDepth)
		}
	}
	p := ps[0]
	for _, q := range ps[1:] {
		p.top = append(p.top, q.top...)
		p.d.list = append(p.d.list, q.d.list...)
		p.directives = p.directives || q.directives
	}
	last := ps[len(ps)-1]
	p.stack, p.scratch, p.lists = last.stack, last.scratch, last.lists
	p.stmts, p.blocks, p.toks = last.stmts, last.blocks, last.toks
	p.abort = last.abort
	p.closeAll()
	return p
}

// parseWhole parses src in one piece.
func parseWhole(name, src string, maxDepth int) *parser {
	p := newParser(name, src)
	p.maxDepth = maxDepth
	p.run()
	return p
}

// cutPoints returns up to n-1 offsets that split src into pieces of
// similar size, each just after a line "}\n" in column one; none when src
// is smaller than minSize.
func cutPoints(src string, n, minSize int) []int {
	if n < 2 || len(src) < minSize {
		return nil
	}
	n = min(n, 8, len(src)/max(1, minSize/2))
	var cuts []int
	last := 0
	for k := 1; k < n; k++ {
		at := max(last, k*len(src)/n)
		i := strings.Index(src[at:], "\n}\n")
		if i < 0 {
			break
		}
		at += i + 3
		if at >= len(src) {
			break
		}
		cuts = append(cuts, at)
		last = at
	}
	return cuts
}

// blank reports keepalived's in-line whitespace.
func blank(c byte) bool { return charClass[c]&clBlank != 0 }

// Character classes, looked up in a table on the hot paths.
const (
	clBlank   = 1 << iota // in-line whitespace
	clSpace               // word separator (blanks and newline)
	clSpecial             // needs attention while scanning a line: " \ # !
	clWordEnd             // ends an unquoted word: separators, " and \
	clLine                // needs attention while scanning a line: specials and newline
	clStmt                // needs attention while looking for a statement's end: { } $ "
	clPlain               // may be part of a word on a plain line (see plainLine)
)

var charClass = func() (t [256]uint8) {
	for _, c := range " \t\r\f\v" {
		t[c] |= clBlank | clSpace | clWordEnd
	}
	t['\n'] |= clSpace | clWordEnd
	for _, c := range "\"\\#!" {
		t[c] |= clSpecial | clLine
	}
	t['\n'] |= clLine
	for _, c := range "{}$\"" {
		t[c] |= clStmt
	}
	t['"'] |= clWordEnd
	t['\\'] |= clWordEnd
	for c := 0x21; c < 0x100; c++ {
		if !strings.ContainsRune("\"\\#!{}$@~\x7f", rune(c)) {
			t[c] |= clPlain
		}
	}
	return t
}()

// frame is an open block while parsing; its statements are collected on
// the parser's scratch stack from index start, and copied into an exactly
// sized slice when the block closes.
type frame struct {
	blk   *Block
	start int
}

type parser struct {
	src  string
	name string
	d    diags

	top     []*Stmt
	stack   []frame
	scratch []*Stmt
	lists   []*Stmt // arena for block statement lists

	// arenas, to allocate statements, blocks and tokens in chunks
	stmts  []Stmt
	blocks []Block
	toks   []Token

	line      int
	lineStart int
	// trail points at the field that receives the text after the last item
	// of the current line.
	trail   *string
	lastEnd int

	// general, for tests, parses every line the general way.
	general bool

	// maxDepth bounds block nesting; abort is set once it is exceeded,
	// and ends the parse.
	maxDepth int
	abort    bool
	// directives is set when a statement needs expansion: an include, a
	// definition, a ~SEQ line, an @id prefix or a $ reference.
	directives bool
}

func newParser(name, src string) *parser {
	p := &parser{src: src, name: name, maxDepth: DefaultMaxNesting}
	// Size the arenas once from cheap counts, so that parsing a large file
	// allocates a handful of chunks up front rather than growing while it
	// fills them: the garbage collector then has little reason to run (and
	// to make every pointer store pay a write barrier) in the middle of the
	// parse. A line holds about one statement and each '{' can start
	// another, except for the braces that end their line; statements
	// average under two words.
	if len(src) > 4096 {
		// Only single-byte counts, which run at memory speed: a line
		// holding just '}' starts no statement, and the rare '{' that does
		// not end its line is left to the arena's growth.
		stmts, toks, blocks := arenaSizes(strings.Count(src, "\n")+1, strings.Count(src, "}"), strings.Count(src, "{"))
		p.stmts = make([]Stmt, 0, stmts)
		p.toks = make([]Token, 0, toks)
		p.blocks = make([]Block, 0, blocks)
		p.lists = make([]*Stmt, 0, stmts)
	}
	return p
}

// arenaSizes returns the statements (and statement lists), tokens and
// blocks to make room for in a parse of text with that many lines, '}'
// and '{'.
func arenaSizes(lines, closes, opens int) (stmts, toks, blocks int) {
	return max(lines-closes, lines/2) + 16, lines + lines/2, opens + 1
}

// grow returns the capacity of the next arena chunk once one of length n
// is full: half again what has been used, so that a poor first estimate
// costs only a few more chunks.
func grow(n, least int) int { return max(least, n/2) }

func (p *parser) newStmt() *Stmt {
	if len(p.stmts) == cap(p.stmts) {
		p.stmts = make([]Stmt, 0, grow(cap(p.stmts), 256))
	}
	p.stmts = p.stmts[:len(p.stmts)+1]
	return &p.stmts[len(p.stmts)-1]
}

func (p *parser) newBlock() *Block {
	if len(p.blocks) == cap(p.blocks) {
		p.blocks = make([]Block, 0, grow(cap(p.blocks), 256))
	}
	p.blocks = p.blocks[:len(p.blocks)+1]
	return &p.blocks[len(p.blocks)-1]
}

func (p *parser) tokens(n int) []Token {
	if cap(p.toks)-len(p.toks) < n {
		p.toks = make([]Token, 0, max(grow(cap(p.toks), 1024), n))
	}
	start := len(p.toks)
	p.toks = p.toks[:start+n]
	return p.toks[start : start+n : start+n]
}

// maxLine is the longest line keepalived 2.2.7 reads whole: it reads
// lines into a 1024-byte buffer, so a line of 1024 bytes or more is split
// and its tail read as a line of its own (`keepalived -t` then fails).
const maxLine = 1023

// checkLen reports the physical line src[i:next] when it is longer than
// keepalived reads.
func (p *parser) checkLen(i, next int) {
	n := next - i
	if n > 0 && p.src[next-1] == '\n' {
		n--
	}
	if n > maxLine {
		p.d.errorf(Position{Filename: p.name, Line: p.line, Col: maxLine + 1}, ErrSyntax, "line is %d bytes long; keepalived reads at most %d bytes per line and reads the rest as a new line", n, maxLine)
	}
}

func (p *parser) pos(i int) Position {
	return Position{Filename: p.name, Line: p.line, Col: i - p.lineStart + 1}
}

func (p *parser) appendStmt(s *Stmt) {
	if len(p.stack) > 0 {
		p.scratch = append(p.scratch, s)
	} else {
		p.top = append(p.top, s)
	}
}

// curList returns the statements of the innermost open block (or the top
// level); the caller may shorten it with setCurLen.
func (p *parser) curList() []*Stmt {
	if n := len(p.stack); n > 0 {
		return p.scratch[p.stack[n-1].start:]
	}
	return p.top
}

func (p *parser) setCurLen(k int) {
	if n := len(p.stack); n > 0 {
		p.scratch = p.scratch[:p.stack[n-1].start+k]
	} else {
		p.top = p.top[:k]
	}
}

// lineInfo describes one physical line.
type lineInfo struct {
	start, end, next int // content of the line is src[start:end]; next line at next
	ce               int // end of the decommented content, trailing blanks removed
	cont             bool
	openQuote        bool
}

// scanLine finds the extent of the line starting at i, where its comment
// starts and whether it ends with a continuation backslash.
func (p *parser) scanLine(i int) lineInfo {
	src := p.src
	li := lineInfo{start: i}
	quote := false
	ce := -1
	// one pass finds the newline, the quotes and the comment; the rest of
	// a comment is skipped with IndexByte
	j := i
scan:
	for ; j < len(src); j++ {
		if charClass[src[j]]&clLine == 0 {
			continue
		}
		switch src[j] {
		case '\n':
			break scan
		case '"':
			quote = !quote
		case '\\':
			if j+1 < len(src) && src[j+1] != '\n' {
				j++
			}
		case '#', '!':
			if !quote {
				ce = j
				if nl := strings.IndexByte(src[j:], '\n'); nl >= 0 {
					j += nl
				} else {
					j = len(src)
				}
				break scan
			}
		}
	}
	if j >= len(src) {
		li.end, li.next = len(src), len(src)
	} else {
		li.end, li.next = j, j+1
	}
	if ce < 0 {
		ce = li.end
	}
	li.openQuote = quote
	for ce > i && blank(src[ce-1]) {
		ce--
	}
	li.ce = ce
	// a trailing unpaired backslash continues the line
	n := 0
	for k := ce - 1; k >= i && src[k] == '\\'; k-- {
		n++
	}
	li.cont = n%2 == 1
	return li
}

func (p *parser) run() {
	p.line = 0
	p.lines(0, len(p.src))
	p.closeAll()
}

// lines parses the lines of src[from:to]; to is the end of src or just
// after a newline.
func (p *parser) lines(from, to int) {
	src := p.src
	for i := from; i < to; {
		p.line++
		p.lineStart = i
		if !p.general {
			if next, ok := p.plainLine(i); ok {
				p.checkLen(i, next)
				i = next
				continue
			}
		}
		li := p.scanLine(i)
		p.checkLen(li.start, li.next)
		if li.openQuote {
			p.d.errorf(p.pos(li.start), ErrSyntax, "unterminated quote")
		}
		p.trail = nil
		p.lastEnd = li.start
		if li.ce == li.start || onlyBlanks(src[li.start:li.ce]) {
			// blank or comment line
			s := p.newStmt()
			j := li.start
			for j < li.end && blank(src[j]) && src[j] != '\r' {
				j++
			}
			*s = Stmt{Kind: KindComment, Lead: spacing(src[li.start:j]), Trail: spacing(src[j:li.next]), Pos: p.pos(j)}
			p.appendStmt(s)
			i = li.next
			continue
		}
		i = p.items(li)
		if p.trail != nil {
			*p.trail = spacing(src[p.lastEnd:i])
		}
		if p.abort {
			// keep the rest as it is, so that Format still gives the source
			s := p.newStmt()
			*s = Stmt{Kind: KindComment, Trail: src[i:to], Pos: p.pos(i)}
			p.appendStmt(s)
			return
		}
	}
}

// closeAll reports and closes the blocks still open at the end of input.
func (p *parser) closeAll() {
	for n := len(p.stack); n > 0; n = len(p.stack) {
		f := p.stack[n-1]
		f.blk.Unclosed = true
		if !p.abort {
			p.d.errorf(f.blk.Open, ErrSyntax, "missing '}' for the block opened here")
		}
		p.closeFrame()
	}
}

// plainLine parses the line starting at i in one pass when it has one of
// the forms most lines have: blanks only; a '}' alone; or words of plain
// characters (no quotes, escapes, comments, braces, $, @ or ~) separated
// by blanks, optionally ending with '{'. It gives the statements, blocks
// and diagnostics the general path gives for such a line, and reports
// false, having changed nothing, for any other line.
func (p *parser) plainLine(i int) (int, bool) {
	src := p.src
	j := skipPlainBlanks(src, i)
	if j >= len(src) {
		return 0, false
	}
	switch c := src[j]; {
	case c == '\n':
		s := p.newStmt()
		*s = Stmt{Kind: KindComment, Lead: spacing(src[i:j]), Trail: lineEnds[:1], Pos: p.pos(j)}
		p.appendStmt(s)
		return j + 1, true
	case c == '}':
		k := skipPlainBlanks(src, j+1)
		if k >= len(src) || src[k] != '\n' {
			return 0, false
		}
		p.close(spacing(src[i:j]), j)
		*p.trail = spacing(src[j+1 : k+1])
		return k + 1, true
	case charClass[c]&clPlain == 0:
		return 0, false
	}
	// Words go straight into the token arena, within its capacity, and
	// are taken back if the line turns out not to be plain.
	n0 := len(p.toks)
	toks := p.toks[:n0:cap(p.toks)]
	k, end := j, j
	for {
		w := k
		for k < len(src) && charClass[src[k]]&clPlain != 0 {
			k++
		}
		if len(toks) == cap(toks) {
			return 0, false
		}
		toks = append(toks, Token{Text: src[w:k], Col: w - i + 1})
		end = k
		k = skipPlainBlanks(src, k)
		if k >= len(src) {
			return 0, false
		}
		if c := src[k]; c == '\n' || c == '{' {
			break
		}
		if charClass[src[k]]&clPlain == 0 {
			return 0, false
		}
	}
	brace := src[k] == '{'
	nl := k
	if brace && len(p.stack) >= p.maxDepth {
		return 0, false
	}
	if brace {
		// "include x {" is one statement: keepalived reads include lines
		// before it splits braces
		if nl = skipPlainBlanks(src, k+1); nl >= len(src) || src[nl] != '\n' || strings.HasPrefix(src[j:], "include") {
			return 0, false
		}
	}
	p.toks = toks
	if t := toks[n0].Text; len(t) >= 7 && t[:7] == "include" {
		p.directives = true
	}
	s := p.newStmt()
	// field by field: the arena's element is zero already, and a whole-
	// struct store would write every word through the write barrier
	s.Lead = spacing(src[i:j])
	s.Tokens = toks[n0:len(toks):len(toks)]
	s.Pos = p.pos(j)
	p.setText(s, j, end)
	p.appendStmt(s)
	if !brace {
		s.Trail = spacing(src[end : nl+1])
		return nl + 1, true
	}
	p.open(spacing(src[end:k]), k)
	*p.trail = spacing(src[k+1 : nl+1])
	return nl + 1, true
}

// skipPlainBlanks returns the first index from k on that is not a space
// or tab.
func skipPlainBlanks(src string, k int) int {
	for k < len(src) && (src[k] == ' ' || src[k] == '\t') {
		k++
	}
	return k
}

// spaces and lineEnds hold the common indentations and line ends.
const (
	spaces   = "                                                                "
	lineEnds = "\n\r\n"
)

// spacing returns s, which is taken from the source, or the same text from
// a constant when s is a common indentation or line end. Most statements
// have both, and strings that point outside the heap cost the garbage
// collector nothing to follow.
func spacing(s string) string {
	switch {
	case len(s) == 0:
		return ""
	case len(s) <= len(spaces) && s == spaces[:len(s)]:
		return spaces[:len(s)]
	case s == "\n":
		return lineEnds[:1]
	case s == "\r\n":
		return lineEnds[1:]
	}
	return s
}

func onlyBlanks(s string) bool {
	for i := 0; i < len(s); i++ {
		if !blank(s[i]) {
			return false
		}
	}
	return true
}

// items splits the content of a line into statements and braces, the way
// keepalived's read_line does, and returns where the next line starts.
func (p *parser) items(li lineInfo) int {
	src := p.src
	j := li.start
	for {
		ls := j
		for j < li.ce && blank(src[j]) {
			j++
		}
		if j >= li.ce {
			return li.next
		}
		lead := spacing(src[ls:j])
		switch src[j] {
		case '{':
			if len(p.stack) >= p.maxDepth {
				p.d.errorf(p.pos(j), ErrLimit, "blocks nested more than %d deep", p.maxDepth)
				p.abort = true
				return ls
			}
			p.open(lead, j)
			j++
			p.lastEnd = j
			continue
		case '}':
			p.close(lead, j)
			j++
			p.lastEnd = j
			continue
		}
		s := p.newStmt()
		s.Lead = lead
		s.Pos = p.pos(j)
		start := j
		b := j
		if src[j] == '@' {
			p.directives = true
			k := j
			for k < li.ce && src[k] != ' ' && src[k] != '\t' {
				k++
			}
			s.Cond = src[j:k]
			b = k
			for b < li.ce && blank(src[b]) {
				b++
			}
		}
		end := li.ce
		switch {
		case b < li.ce && src[b] == '$' && isDefStart(src[b:li.ce]):
			s.Kind = KindDef
			if li.cont {
				end, li = p.continuation(li)
			}
		case b < li.ce && src[b] == '~' && (strings.HasPrefix(src[b:], "~SEQ") || strings.HasPrefix(src[b:], "~LST")):
			s.Kind = KindSeq
		case isIncludeLine(src[b:li.ce]):
			p.directives = true
			// keepalived reads include lines before it splits braces, so
			// "include a/{b,c}.conf" stays one statement
		default:
			end = b
			for end < li.ce {
				c := src[end]
				if charClass[c]&clStmt == 0 {
					end++
					continue
				}
				if c == '{' || c == '}' {
					break
				}
				if c == '$' {
					// ${NAME} is replaced before keepalived looks for
					// braces: it is part of the word
					if n := refLen(src[end:li.ce]); n > 0 {
						end += n
						continue
					}
				}
				if src[end] == '"' {
					q := strings.IndexByte(src[end+1:li.ce], '"')
					if q < 0 {
						end = li.ce
						break
					}
					end += q + 2
					continue
				}
				end++
			}
			for end > b && blank(src[end-1]) {
				end--
			}
		}
		if s.Kind == KindDef || s.Kind == KindSeq || strings.IndexByte(src[b:end], '$') >= 0 {
			p.directives = true
		}
		if s.Kind == KindDef || s.Kind == KindSeq {
			t := p.tokens(1)
			t[0] = Token{Text: src[b:end], Col: b - p.lineStartOf(b) + 1}
			s.Tokens = t
		} else {
			s.Tokens = p.tokenize(b, end)
		}
		p.setText(s, start, end)
		p.appendStmt(s)
		p.trail = &s.Trail
		p.lastEnd = end
		j = end
		if s.Kind == KindDef || s.Kind == KindSeq {
			return li.next
		}
	}
}

// setText records that s, with its Cond and Tokens set, prints as
// src[start:end] while it is not edited: as a mark when render prints
// that (words one blank apart, the usual case), or else in a hidden token
// just past the end of s.Tokens.
func (p *parser) setText(s *Stmt, start, end int) {
	text := p.src[start:end]
	if joinedText(text, s) {
		s.form = formJoined
		return
	}
	n := len(s.Tokens)
	s.form = formHidden
	hidden := Token{Text: text, Col: hiddenCol}
	if k := len(p.toks); n > 0 && k >= n && k < cap(p.toks) && &p.toks[k-1] == &s.Tokens[n-1] {
		// the words are the last ones in the arena, with room after them
		p.toks = append(p.toks, hidden)
		s.Tokens = p.toks[k-n : k : k+1]
		return
	}
	t := p.tokens(n + 1)
	copy(t, s.Tokens)
	t[n] = hidden
	s.Tokens = t[: n : n+1]
}

// lineStartOf returns the start of the physical line holding index i,
// which is p.lineStart except inside continued definitions.
func (p *parser) lineStartOf(i int) int {
	if i >= p.lineStart {
		return p.lineStart
	}
	return strings.LastIndexByte(p.src[:i], '\n') + 1
}

// continuation consumes the lines continuing a definition that ends with a
// backslash. It returns the end of the definition's text and the last line.
func (p *parser) continuation(li lineInfo) (int, lineInfo) {
	for li.cont && li.next < len(p.src) {
		nli := p.scanLine(li.next)
		if nli.ce == nli.start || onlyBlanks(p.src[nli.start:nli.ce]) {
			break
		}
		p.line++
		p.lineStart = nli.start
		p.checkLen(nli.start, nli.next)
		li = nli
	}
	return li.ce, li
}

// isDefStart reports whether s begins a $NAME=value definition.
func isDefStart(s string) bool {
	if len(s) < 3 || s[0] != '$' || !(isAlpha(s[1]) || s[1] == '_') {
		return false
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		if c == '=' {
			return true
		}
		if !isAlnum(c) && c != '_' {
			return false
		}
	}
	return false
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }

// tokenize splits src[b:end] into words the way keepalived's alloc_strvec
// does: blanks separate words, a double-quoted string is one word.
func (p *parser) tokenize(b, end int) []Token {
	src := p.src
	// words are separated by blanks, so there are at most (n+1)/2 of them:
	// with that much room in the arena they are appended in place (a long
	// statement counts its words first rather than reserve room for n/2)
	room := (end - b + 1) / 2
	if room > 64 {
		room = 0
		for k := b; k < end; room++ {
			if k = skipSpace(src, k, end); k >= end {
				break
			}
			k = wordEnd(src, k, end)
		}
	}
	if cap(p.toks)-len(p.toks) < room {
		p.toks = make([]Token, 0, max(grow(cap(p.toks), 1024), room))
	}
	t := p.toks
	n0 := len(t)
	for k := b; k < end; {
		if k = skipSpace(src, k, end); k >= end {
			break
		}
		e := wordEnd(src, k, end)
		t = append(t, Token{Text: src[k:e], Col: k - p.lineStart + 1})
		k = e
	}
	if len(t) == n0 {
		return nil
	}
	p.toks = t
	return t[n0:len(t):len(t)]
}

func isSpace(c byte) bool { return charClass[c]&clSpace != 0 }

// skipSpace returns the first index from k on that is not a separator.
func skipSpace(src string, k, end int) int {
	for k < end && isSpace(src[k]) {
		k++
	}
	return k
}

// wordEnd returns the end of the word starting at k.
func wordEnd(src string, k, end int) int {
	if src[k] == '"' {
		q := strings.IndexByte(src[k+1:end], '"')
		if q < 0 {
			return end
		}
		return k + q + 2
	}
	for k < end {
		c := src[k]
		if charClass[c]&clWordEnd != 0 {
			if c != '\\' {
				break
			}
			if k+1 < end {
				k++
			}
		}
		k++
	}
	return k
}

// open handles a '{' found at index j.
func (p *parser) open(lead string, j int) {
	list := p.curList()
	blk := p.newBlock()
	blk.Open = p.pos(j)
	// attach to the last keyword statement, skipping comment lines
	k := len(list) - 1
	for k >= 0 && list[k].Kind == KindComment {
		k--
	}
	var owner *Stmt
	if k >= 0 {
		if o := list[k]; o.Kind == KindStmt && o.Block == nil && (len(o.Tokens) > 0 || o.Cond != "") && o.Keyword() != "}" {
			owner = o
		}
	}
	if owner != nil {
		if k+1 == len(list) {
			blk.OpenLead = lead
		} else {
			var b strings.Builder
			for _, c := range list[k+1:] {
				b.WriteString(c.Lead)
				b.WriteString(c.Trail)
			}
			b.WriteString(lead)
			blk.OpenLead = b.String()
			p.setCurLen(k + 1)
		}
	} else {
		p.d.errorf(blk.Open, ErrSyntax, "unexpected '{'")
		owner = p.newStmt()
		*owner = Stmt{Pos: blk.Open, Kind: KindStmt}
		blk.OpenLead = lead
		p.appendStmt(owner)
	}
	owner.Block = blk
	p.stack = append(p.stack, frame{blk: blk, start: len(p.scratch)})
	p.trail = &blk.OpenTrail
}

// close handles a '}' found at index j.
func (p *parser) close(lead string, j int) {
	if len(p.stack) == 0 {
		p.d.errorf(p.pos(j), ErrSyntax, "extra '}' found")
		s := p.newStmt()
		t := p.tokens(1)
		t[0] = Token{Text: "}", Col: j - p.lineStart + 1}
		*s = Stmt{Lead: lead, Tokens: t, Pos: p.pos(j), form: formJoined}
		p.top = append(p.top, s)
		p.trail = &s.Trail
		return
	}
	blk := p.stack[len(p.stack)-1].blk
	blk.CloseLead = lead
	blk.Close = p.pos(j)
	p.closeFrame()
	p.trail = &blk.CloseTrail
}

func (p *parser) closeFrame() {
	n := len(p.stack)
	f := p.stack[n-1]
	items := p.scratch[f.start:]
	if len(items) > 0 {
		if cap(p.lists)-len(p.lists) < len(items) {
			p.lists = make([]*Stmt, 0, max(grow(cap(p.lists), 4096), len(items)))
		}
		at := len(p.lists)
		p.lists = append(p.lists, items...)
		f.blk.Stmts = p.lists[at:len(p.lists):len(p.lists)]
	}
	clear(items)
	p.scratch = p.scratch[:f.start]
	p.stack = p.stack[:n-1]
}

// unquote returns a word as keepalived reads it.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	if len(s) >= 1 && s[0] == '"' {
		return s[1:]
	}
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '#' || s[i+1] == '!') {
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isIncludeLine reports whether s is an include directive: an include
// keyword followed by exactly one word.
func isIncludeLine(s string) bool {
	if !strings.HasPrefix(s, "include") {
		return false
	}
	f := strings.Fields(s)
	if len(f) != 2 {
		return false
	}
	switch f[0] {
	case "include", "includer", "includem", "includew", "includeb", "includea":
		return true
	}
	return false
}

// refLen returns the length of a ${NAME} or ${NAME params} reference at
// the start of s, or 0.
func refLen(s string) int {
	if len(s) < 4 || s[0] != '$' || s[1] != '{' || !(isAlpha(s[2]) || s[2] == '_') {
		return 0
	}
	i := 3
	for i < len(s) && (isAlnum(s[i]) || s[i] == '_') {
		i++
	}
	if i < len(s) && s[i] == ' ' {
		for i < len(s) && s[i] != '}' && s[i] != '{' && s[i] != '"' {
			i++
		}
	}
	if i < len(s) && s[i] == '}' {
		return i + 1
	}
	return 0
}
