package haproxy

import "strings"

// LineKind classifies a configuration line.
type LineKind uint8

// Kinds of lines.
const (
	// BlankLine holds nothing but whitespace.
	BlankLine LineKind = iota
	// CommentLine holds only a comment (and whitespace).
	CommentLine
	// DirectiveLine is a keyword with arguments inside a section.
	DirectiveLine
	// SectionLine starts a section (global, defaults, backend...).
	SectionLine
	// CondLine is one of .if, .elif, .else, .endif.
	CondLine
	// DiagLine is one of .diag, .notice, .warning, .alert.
	DiagLine
)

// Line is one line of a configuration file, kept with its exact text.
type Line struct {
	// Text is the line without its end-of-line sequence.
	Text string
	// EOL is "\n", "\r\n", or "" for a last line without newline.
	EOL string
	// Num is the 1-based line number the line had when parsed; 0 for a
	// line added by an edit.
	Num int
	// Kind classifies the line.
	Kind LineKind
	// Words are the line's words before any comment, as written.
	Words []Word
	// Comment is the offset in Text of the '#' starting a comment, or -1.
	Comment int
	// Err is the tokenizer's complaint about the line, if any.
	Err *SyntaxError

	end int // end of the tokenized part of Text
}

// Keyword returns the line's first word, unquoted, or "".
func (l *Line) Keyword() string {
	if len(l.Words) == 0 {
		return ""
	}
	return l.Words[0].Value()
}

// Arg returns the value of word i (0 is the keyword), or "" past the end.
func (l *Line) Arg(i int) string {
	if i < 0 || i >= len(l.Words) {
		return ""
	}
	return l.Words[i].Value()
}

// Values returns the values of all words, variables unexpanded.
func (l *Line) Values() []string {
	v := make([]string, len(l.Words))
	for i, w := range l.Words {
		v[i] = w.Value()
	}
	return v
}

// Args returns the arguments HAProxy would see for this line with
// variables expanded from env (nil keeps references verbatim). It resolves
// ${NAME[*]} word expansion and defaults. file and section feed the
// pseudo-variables .FILE and .SECTION; .LINE is the line's Num.
func (l *Line) Args(env Env, file, section string) ([]string, error) {
	if len(l.Words) == 0 {
		return nil, nil
	}
	ps := &pseudo{line: l.Num, file: file, section: section}
	return decodeArgs(nil, l.Text, env, ps)
}

// CommentText returns the comment including its '#', or "".
func (l *Line) CommentText() string {
	if l.Comment < 0 {
		return ""
	}
	return strings.TrimRight(l.Text[l.Comment:], "\r")
}

// Indent returns the whitespace before the first word.
func (l *Line) Indent() string {
	i := 0
	for i < len(l.Text) && (l.Text[i] == ' ' || l.Text[i] == '\t') {
		i++
	}
	return l.Text[:i]
}

// setText replaces the line's text and rescans it.
func (l *Line) setText(text string) {
	l.Text = text
	l.rescan()
}

func (l *Line) rescan() {
	ws, comment, end, terr := scanLine(l.Text, nil)
	l.Words, l.Comment, l.end, l.Err = ws, comment, end, nil
	if terr != nil {
		l.Err = &SyntaxError{Col: terr.col, Msg: msgOf(terr.err), Err: terr.err}
	}
	// A header stays a header (it may use a keyword given through
	// ParserConfig.Sections); other lines are reclassified.
	if k := classify(l, nil); l.Kind != SectionLine || k == BlankLine || k == CommentLine {
		l.Kind = k
	}
}

// SetValues replaces the line's words with values, quoting each as needed,
// and keeps its indentation and trailing comment.
func (l *Line) SetValues(values ...string) {
	var b strings.Builder
	for i, v := range values {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(Quote(v))
	}
	l.setRaw(b.String())
}

// setRaw replaces the words part of the line with raw text.
func (l *Line) setRaw(raw string) {
	if len(l.Words) == 0 {
		indent := l.Indent()
		rest := l.Text[len(indent):]
		if rest != "" {
			rest = " " + rest
		}
		l.setText(indent + raw + rest)
		return
	}
	from := l.Words[0].Off
	last := l.Words[len(l.Words)-1]
	to := last.Off + len(last.Raw)
	l.setText(l.Text[:from] + raw + l.Text[to:])
}

// setWord replaces word i's raw text in place, leaving all else alone.
func (l *Line) setWord(i int, raw string) {
	w := l.Words[i]
	l.setText(l.Text[:w.Off] + raw + l.Text[w.Off+len(w.Raw):])
}

// deleteWords removes words [i, j) and the space before them.
func (l *Line) deleteWords(i, j int) {
	if i >= j {
		return
	}
	from := l.Words[i].Off
	if i > 0 {
		p := l.Words[i-1]
		from = p.Off + len(p.Raw)
	}
	last := l.Words[j-1]
	to := last.Off + len(last.Raw)
	if i == 0 && j < len(l.Words) {
		to = l.Words[j].Off
	}
	l.setText(l.Text[:from] + l.Text[to:])
}

// insertWords inserts raw words before word i (len(Words) appends).
func (l *Line) insertWords(i int, raws ...string) {
	if len(raws) == 0 {
		return
	}
	ins := strings.Join(raws, " ")
	if i >= len(l.Words) {
		if len(l.Words) == 0 {
			l.setRaw(ins)
			return
		}
		last := l.Words[len(l.Words)-1]
		at := last.Off + len(last.Raw)
		l.setText(l.Text[:at] + " " + ins + l.Text[at:])
		return
	}
	at := l.Words[i].Off
	l.setText(l.Text[:at] + ins + " " + l.Text[at:])
}

// NewLine returns a detached directive line with the given indentation and
// values, quoted as needed.
func NewLine(indent string, values ...string) *Line {
	l := &Line{EOL: "\n", Comment: -1}
	l.Text = indent
	l.SetValues(values...)
	return l
}

// String returns the line's text.
func (l *Line) String() string { return l.Text }

var sectionKeywords = map[string]bool{
	"global": true, "defaults": true, "frontend": true, "backend": true,
	"listen": true, "peers": true, "resolvers": true, "userlist": true,
	"mailers": true, "cache": true, "ring": true, "http-errors": true,
	"log-forward": true, "crt-store": true, "program": true,
	"fcgi-app": true, "traces": true,
}

// IsSectionKeyword reports whether kw starts a section in HAProxy.
func IsSectionKeyword(kw string) bool { return sectionKeywords[kw] }

func classify(l *Line, extra map[string]bool) LineKind {
	if len(l.Words) == 0 {
		if l.Comment >= 0 {
			return CommentLine
		}
		return BlankLine
	}
	raw := l.Words[0].Raw
	kw := raw
	if needsDecode(raw) {
		kw = l.Words[0].Value()
	}
	switch kw {
	case ".if", ".elif", ".else", ".endif":
		return CondLine
	case ".diag", ".notice", ".warning", ".alert":
		return DiagLine
	}
	if sectionKeywords[kw] || extra[kw] {
		return SectionLine
	}
	return DirectiveLine
}

// Section is a section header with the lines that follow it up to the
// next header. The first section of a Config has no header: it holds what
// precedes the first header.
type Section struct {
	// Header is the line that opens the section; nil for the preamble.
	Header *Line
	// Lines are the lines after the header, in order.
	Lines []*Line
}

// Keyword returns the section keyword ("backend"...), "" for the preamble.
func (s *Section) Keyword() string {
	if s.Header == nil {
		return ""
	}
	return s.Header.Keyword()
}

// Name returns the section's name (its first argument), or "".
func (s *Section) Name() string {
	if s.Header == nil {
		return ""
	}
	return s.Header.Arg(1)
}

// Find returns the first directive line whose leading words have the
// given values, or nil.
func (s *Section) Find(words ...string) *Line {
	for _, l := range s.Lines {
		if matchWords(l, words) {
			return l
		}
	}
	return nil
}

// FindAll returns every directive line whose leading words have the given
// values.
func (s *Section) FindAll(words ...string) []*Line {
	var out []*Line
	for _, l := range s.Lines {
		if matchWords(l, words) {
			out = append(out, l)
		}
	}
	return out
}

func matchWords(l *Line, words []string) bool {
	if l.Kind != DirectiveLine || len(l.Words) < len(words) {
		return false
	}
	for i, w := range words {
		if l.Words[i].Raw != w && l.Words[i].Value() != w {
			return false
		}
	}
	return true
}

// Set makes the section hold exactly one directive starting with the first
// keyLen values: the first such line is rewritten (indentation and comment
// kept), later ones are deleted, or a new line is added.
func (s *Section) Set(keyLen int, values ...string) *Line {
	key := values[:keyLen]
	var first *Line
	for i := 0; i < len(s.Lines); i++ {
		l := s.Lines[i]
		if !matchWords(l, key) {
			continue
		}
		if first == nil {
			first = l
			continue
		}
		s.Delete(l)
		i--
	}
	if first == nil {
		return s.Add(values...)
	}
	if !equalValues(first, values) {
		first.SetValues(values...)
	}
	return first
}

// Unset deletes every directive line starting with the given words and
// reports whether there was one.
func (s *Section) Unset(words ...string) bool {
	found := false
	for i := 0; i < len(s.Lines); i++ {
		if matchWords(s.Lines[i], words) {
			s.Lines = append(s.Lines[:i:i], s.Lines[i+1:]...)
			i--
			found = true
		}
	}
	return found
}

func equalValues(l *Line, values []string) bool {
	if len(l.Words) != len(values) {
		return false
	}
	for i, v := range values {
		if l.Words[i].Value() != v {
			return false
		}
	}
	return true
}

// indent guesses the indentation used for directives in the section.
func (s *Section) indent() string {
	for i := len(s.Lines) - 1; i >= 0; i-- {
		if l := s.Lines[i]; l.Kind == DirectiveLine {
			return l.Indent()
		}
	}
	return "    "
}

// insertPos is where a new directive goes: after the last directive, so
// that trailing blank lines and comments introducing the next section stay
// where they are.
func (s *Section) insertPos() int {
	for i := len(s.Lines) - 1; i >= 0; i-- {
		if k := s.Lines[i].Kind; k != BlankLine && k != CommentLine {
			return i + 1
		}
	}
	return 0
}

// Add appends a directive built from values after the section's last
// directive, with the section's indentation, and returns it.
func (s *Section) Add(values ...string) *Line {
	l := NewLine(s.indent(), values...)
	s.InsertAt(s.insertPos(), l)
	return l
}

// InsertAt inserts l as the i-th line of the section.
func (s *Section) InsertAt(i int, l *Line) {
	if i > 0 && s.Lines[i-1].EOL == "" {
		s.Lines[i-1].EOL = "\n"
	}
	if i == 0 && s.Header != nil && s.Header.EOL == "" {
		s.Header.EOL = "\n"
	}
	lines := make([]*Line, 0, len(s.Lines)+1)
	lines = append(lines, s.Lines[:i]...)
	lines = append(lines, l)
	lines = append(lines, s.Lines[i:]...)
	s.Lines = lines
}

// LeadingComments returns the comment lines directly above l (no blank
// line between), which read as belonging to it.
func (s *Section) LeadingComments(l *Line) []*Line {
	for i, x := range s.Lines {
		if x != l {
			continue
		}
		j := i
		for j > 0 && s.Lines[j-1].Kind == CommentLine {
			j--
		}
		return s.Lines[j:i:i]
	}
	return nil
}

// DeleteWithComments removes l and its leading comments.
func (s *Section) DeleteWithComments(l *Line) bool {
	for _, c := range s.LeadingComments(l) {
		s.Delete(c)
	}
	return s.Delete(l)
}

// Delete removes l from the section and reports whether it was there.
func (s *Section) Delete(l *Line) bool {
	for i, x := range s.Lines {
		if x == l {
			s.Lines = append(s.Lines[:i:i], s.Lines[i+1:]...)
			return true
		}
	}
	return false
}

// Config is a parsed configuration: the lossless tree of sections and
// lines, over which the typed accessors (Global, Backend...) read and edit.
type Config struct {
	// Filename is used in error positions.
	Filename string
	// Sections lists the sections in file order. Sections[0] is the
	// preamble without header (possibly with no lines).
	Sections []*Section
}

// Parse reads a configuration. Only a file that cannot be represented
// fails; syntax the tokenizer rejects is kept in Line.Err and reported by
// Validate, so that any input round-trips through Format.
func Parse(filename string, data []byte) (*Config, error) {
	return ParseWith(filename, data, nil)
}

// ParserConfig adjusts Parse and ParseFile. A nil *ParserConfig and the
// zero value mean the defaults.
type ParserConfig struct {
	// Sections are section keywords to recognise besides HAProxy's own
	// (for newer or patched HAProxy versions). Without them, a line
	// starting with an unknown keyword belongs to the section before it,
	// as HAProxy 2.6 reads it.
	Sections []string
	// MaxFileSize is the largest file ParseFile reads, in bytes; 0 means
	// DefaultMaxFileSize.
	MaxFileSize int64
}

// ParseWith is Parse with a configuration; cfg may be nil.
func ParseWith(filename string, data []byte, cfg *ParserConfig) (*Config, error) {
	var extra map[string]bool
	if cfg != nil && len(cfg.Sections) > 0 {
		extra = make(map[string]bool, len(cfg.Sections))
		for _, kw := range cfg.Sections {
			extra[kw] = true
		}
	}
	src := string(data)
	nlines := strings.Count(src, "\n")
	if len(src) > 0 && src[len(src)-1] != '\n' {
		nlines++
	}
	lines := make([]Line, nlines)
	ptrs := make([]*Line, nlines)
	var arena, tmp []Word
	type span struct{ hdr, from, to int }
	spans := make([]span, 1, 64)
	spans[0] = span{-1, 0, 0}
	pos := 0
	for i := range lines {
		l := &lines[i]
		ptrs[i] = l
		nl := strings.IndexByte(src[pos:], '\n')
		var text string
		if nl < 0 {
			text = src[pos:]
			pos = len(src)
		} else {
			text = src[pos : pos+nl]
			pos += nl + 1
			l.EOL = "\n"
			if len(text) > 0 && text[len(text)-1] == '\r' {
				text = text[:len(text)-1]
				l.EOL = "\r\n"
			}
		}
		l.Text, l.Num = text, i+1
		var terr *tokErr
		tmp, l.Comment, l.end, terr = scanLine(text, tmp[:0])
		if terr != nil {
			l.Err = &SyntaxError{Col: terr.col, Msg: msgOf(terr.err), Err: terr.err}
		}
		if len(tmp) > 0 {
			if cap(arena)-len(arena) < len(tmp) {
				arena = make([]Word, 0, max(8192, len(tmp)))
			}
			a := len(arena)
			arena = append(arena, tmp...)
			l.Words = arena[a:len(arena):len(arena)]
		}
		l.Kind = classify(l, extra)
		if l.Kind == SectionLine {
			spans[len(spans)-1].to = i
			spans = append(spans, span{i, i + 1, nlines})
		}
	}
	if len(spans) == 1 {
		spans[0].to = nlines
	}
	secs := make([]Section, len(spans))
	c := &Config{Filename: filename, Sections: make([]*Section, len(spans))}
	for i, sp := range spans {
		s := &secs[i]
		if sp.hdr >= 0 {
			s.Header = ptrs[sp.hdr]
		}
		s.Lines = ptrs[sp.from:sp.to:sp.to]
		c.Sections[i] = s
	}
	return c, nil
}

// Format returns the configuration's text. An unmodified Config formats to
// exactly the bytes it was parsed from.
func (c *Config) Format() []byte {
	n := 0
	c.walk(func(l *Line) { n += len(l.Text) + len(l.EOL) })
	b := make([]byte, 0, n)
	c.walk(func(l *Line) {
		b = append(b, l.Text...)
		b = append(b, l.EOL...)
	})
	return b
}

// walk calls fn for each line in file order.
func (c *Config) walk(fn func(*Line)) {
	for _, s := range c.Sections {
		if s.Header != nil {
			fn(s.Header)
		}
		for _, l := range s.Lines {
			fn(l)
		}
	}
}

// Lines returns every line in file order.
func (c *Config) Lines() []*Line {
	var out []*Line
	c.walk(func(l *Line) { out = append(out, l) })
	return out
}

// Section returns the first section with the keyword and name, or nil.
func (c *Config) Section(keyword, name string) *Section {
	for _, s := range c.Sections {
		if s.Header != nil && s.Keyword() == keyword && s.Name() == name {
			return s
		}
	}
	return nil
}

// SectionsOf returns the sections with the given keyword, in order.
func (c *Config) SectionsOf(keyword string) []*Section {
	var out []*Section
	for _, s := range c.Sections {
		if s.Header != nil && s.Keyword() == keyword {
			out = append(out, s)
		}
	}
	return out
}

// AddSection appends a new section with a header built from values
// (keyword, name, more...), separated from what precedes it by a blank line.
func (c *Config) AddSection(values ...string) *Section {
	var last *Line
	c.walk(func(l *Line) { last = l })
	s := &Section{Header: NewLine("", values...)}
	if last != nil {
		if last.EOL == "" {
			last.EOL = "\n"
		}
		if last.Kind != BlankLine {
			prev := c.Sections[len(c.Sections)-1]
			prev.Lines = append(prev.Lines[:len(prev.Lines):len(prev.Lines)], &Line{EOL: "\n", Comment: -1})
		}
	}
	c.Sections = append(c.Sections, s)
	return s
}

// DeleteSection removes s and its lines, and the comment lines directly
// above its header (they end the previous section in the tree but
// introduce s), keeping those that introduce the next section, and
// reports whether it was there.
func (c *Config) DeleteSection(s *Section) bool {
	for i, x := range c.Sections {
		if x != s || x.Header == nil {
			continue
		}
		prev := c.Sections[i-1]
		j := len(prev.Lines)
		for j > 0 && prev.Lines[j-1].Kind == CommentLine {
			j--
		}
		// s's own trailing comments introduce the next section: keep them.
		k := len(s.Lines)
		if i+1 < len(c.Sections) {
			for k > 0 && s.Lines[k-1].Kind == CommentLine {
				k--
			}
		}
		prev.Lines = append(prev.Lines[:j:j], s.Lines[k:]...)
		c.Sections = append(c.Sections[:i:i], c.Sections[i+1:]...)
		return true
	}
	return false
}

// Args returns the arguments HAProxy sees for l, a line of c, with
// variables expanded from env and the pseudo-variables .FILE, .LINE and
// .SECTION (the section's name, or its keyword when unnamed) filled in.
func (c *Config) Args(l *Line, env Env) ([]string, error) {
	section := ""
	for _, s := range c.Sections {
		if s.Header == l {
			break
		}
		found := false
		for _, x := range s.Lines {
			if x == l {
				found = true
				break
			}
		}
		if found && s.Header != nil {
			section = s.Name()
			if section == "" {
				section = s.Keyword()
			}
			break
		}
	}
	return l.Args(env, c.Filename, section)
}
