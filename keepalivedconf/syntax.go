package keepalivedconf

import (
	"strings"
)

// Kind tells what a Stmt holds.
type Kind uint8

// Statement kinds.
const (
	// KindStmt is a keyword with arguments, possibly followed by a block.
	KindStmt Kind = iota
	// KindComment is a line holding only whitespace and/or a comment.
	KindComment
	// KindDef is a $NAME=value definition (possibly continued over
	// several lines with a trailing backslash).
	KindDef
	// KindSeq is a ~SEQ(...), ~SEQx(...) or ~LST(...) line expansion.
	KindSeq
)

// Token is one word of a statement as written in the source.
type Token struct {
	// Text is the source form: quotes and escapes are kept.
	Text string
	// Col is the 1-based byte column of the token on the statement's line.
	Col int
}

// Value returns the token as keepalived reads it: surrounding double quotes
// removed and the comment-character escapes \# and \! resolved.
func (t Token) Value() string { return unquote(t.Text) }

// Stmt is one statement of a keepalived configuration: a keyword line (with
// an optional { } block), a comment or blank line, a definition or a ~SEQ
// expansion. Lead and Trail hold the surrounding source text so that an
// unmodified statement prints back byte for byte.
type Stmt struct {
	// Lead is the source text before the statement: its indentation, or the
	// blanks separating it from a brace on the same line.
	Lead string
	// Cond is an "@id" or "@^id" conditional prefix as written, or "".
	Cond string
	// Tokens are the words of the statement (for KindDef and KindSeq, one
	// token holding the whole definition or expansion line). Change them
	// with SetArgs: a statement whose words were not one blank apart in
	// the source keeps printing its source text after its Tokens are
	// changed in place.
	Tokens []Token
	// Trail is the text after the last token when the statement ends its
	// line: blanks, comment and newline. For KindComment it holds the
	// whole comment line.
	Trail string
	// Block is the { } block following the statement, or nil.
	Block *Block
	// Pos is where the statement starts (its first token, or its Cond).
	Pos Position
	// Kind tells what the statement is.
	Kind Kind

	// form tells how an unedited statement prints the source from the
	// start of Cond/first token to the end of the last token: as render
	// prints its tokens (formJoined), or from a hidden token just past
	// the end of Tokens, whose Col is -1 (formHidden). Most statements
	// are joined and so carry no extra string. It is cleared when the
	// statement is edited, and the statement is then printed from its
	// tokens.
	form uint8
}

// Forms of a parsed statement's source text (Stmt.form).
const (
	formEdited uint8 = iota
	formJoined
	formHidden
)

// hiddenCol marks the token past the end of Tokens that holds the source
// text of a statement of formHidden.
const hiddenCol = -1

// text returns the statement's source text as parsed and true, or false
// when it is printed from its tokens (edited, built, or joined).
func (s *Stmt) text() (string, bool) {
	if s.form != formHidden || cap(s.Tokens) <= len(s.Tokens) {
		return "", false
	}
	if t := s.Tokens[:len(s.Tokens)+1][len(s.Tokens)]; t.Col == hiddenCol {
		return t.Text, true
	}
	return "", false
}

// joinedText reports whether text is what render prints for s.
func joinedText(text string, s *Stmt) bool {
	i := 0
	if s.Cond != "" {
		if !strings.HasPrefix(text, s.Cond) || len(text) == len(s.Cond) || text[len(s.Cond)] != ' ' {
			return false
		}
		i = len(s.Cond) + 1
	}
	for k, t := range s.Tokens {
		if k > 0 {
			if i >= len(text) || text[i] != ' ' {
				return false
			}
			i++
		}
		if !strings.HasPrefix(text[i:], t.Text) {
			return false
		}
		i += len(t.Text)
	}
	return i == len(text)
}

// Keyword returns the statement's first word ("" for comments).
func (s *Stmt) Keyword() string {
	if len(s.Tokens) == 0 || s.Kind != KindStmt {
		return ""
	}
	return s.Tokens[0].Text
}

// Args returns the values of the statement's words after the keyword.
func (s *Stmt) Args() []string {
	if len(s.Tokens) < 2 {
		return nil
	}
	out := make([]string, len(s.Tokens)-1)
	for i, t := range s.Tokens[1:] {
		out[i] = t.Value()
	}
	return out
}

// Arg returns the value of word i (0 is the keyword), or "" if absent.
func (s *Stmt) Arg(i int) string {
	if i < 0 || i >= len(s.Tokens) {
		return ""
	}
	return s.Tokens[i].Value()
}

// ArgPos returns the position of word i, or the statement's position if the
// word is absent.
func (s *Stmt) ArgPos(i int) Position {
	p := s.Pos
	if i >= 0 && i < len(s.Tokens) {
		p.Col = s.Tokens[i].Col
	}
	return p
}

// Comment returns the comment text of the statement's line (starting with
// # or !), or "".
func (s *Stmt) Comment() string {
	tr := strings.TrimLeft(s.Trail, " \t")
	if tr != "" && (tr[0] == '#' || tr[0] == '!') {
		return strings.TrimRight(tr, "\r\n")
	}
	return ""
}

// Block is a { } block: the statements inside and the text around both
// braces.
type Block struct {
	// OpenLead is the text between the owning statement and '{': blanks,
	// or a newline, comment lines and indentation when '{' stands on a
	// later line.
	OpenLead string
	// OpenTrail is the text after '{' when it ends its line.
	OpenTrail string
	// Stmts are the statements inside the block.
	Stmts []*Stmt
	// CloseLead is the text before '}' (its indentation).
	CloseLead string
	// CloseTrail is the text after '}' when it ends its line.
	CloseTrail string
	// Open and Close are the positions of the braces.
	Open, Close Position
	// Unclosed reports that the file ended before the matching '}'.
	Unclosed bool
}

// File is a parsed keepalived configuration file: a lossless syntax tree.
type File struct {
	// Name is the file name given to Parse, used in positions.
	Name string
	// Stmts are the top-level statements.
	Stmts []*Stmt
	// Includes maps include statements to the files they pulled in, when
	// the file was read with ParseFile.
	Includes map[*Stmt][]*File

	size   int
	syntax ErrorList // errors of Parse (and, for an expanded File, of expansion)
	lints  ErrorList // lint findings of reading and expansion

	// cfg is the configuration the file was read with.
	cfg *ParseConfig
	// directives is set when the file has statements that expansion
	// applies (include, definitions, ~SEQ, @id, $ references).
	directives bool
	// followed is set when ParseFile read the file and its includes;
	// expanded is then the expanded File (the File itself when there was
	// nothing to expand).
	followed bool
	expanded *File
	// arena, when ParsePiecesIn parsed the file, lends its decoding
	// arenas to the file's first Config.
	arena *Arena
}

// Format returns the file's source text. An unmodified File formats to
// exactly the bytes it was parsed from; edited statements are printed from
// their tokens with the indentation of their neighbours.
func (f *File) Format() []byte {
	b := make([]byte, 0, f.size+64)
	return appendList(b, f.Stmts)
}

// appendList appends the source form of the statements of list and their
// blocks to b. It walks the tree with its own stack, so that no nesting
// depth can overflow the goroutine's.
func appendList(b []byte, list []*Stmt) []byte {
	type frame struct {
		list []*Stmt
		blk  *Block
	}
	var buf [16]frame
	stack := append(buf[:0], frame{list: list})
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if len(top.list) == 0 {
			if blk := top.blk; blk != nil && !blk.Unclosed {
				b = append(b, blk.CloseLead...)
				b = append(b, '}')
				b = append(b, blk.CloseTrail...)
			}
			stack = stack[:len(stack)-1]
			continue
		}
		s := top.list[0]
		top.list = top.list[1:]
		b = s.appendHead(b)
		if s.Block != nil {
			stack = append(stack, frame{list: s.Block.Stmts, blk: s.Block})
		}
	}
	return b
}

// appendHead appends s up to and including its block's '{' line.
func (s *Stmt) appendHead(b []byte) []byte {
	b = append(b, s.Lead...)
	if t, ok := s.text(); ok {
		b = append(b, t...)
	} else if s.Kind != KindComment {
		b = s.appendRender(b)
	}
	b = append(b, s.Trail...)
	if blk := s.Block; blk != nil {
		b = append(b, blk.OpenLead...)
		b = append(b, '{')
		b = append(b, blk.OpenTrail...)
	}
	return b
}

// render prints a statement from its tokens: Cond and the tokens, one
// blank between them.
func (s *Stmt) render() string {
	if s.Cond == "" && len(s.Tokens) == 1 {
		return s.Tokens[0].Text
	}
	return string(s.appendRender(nil))
}

// appendRender appends what render returns to b.
func (s *Stmt) appendRender(b []byte) []byte {
	if s.Cond != "" {
		b = append(b, s.Cond...)
		b = append(b, ' ')
	}
	for i, t := range s.Tokens {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, t.Text...)
	}
	return b
}

// Text returns the statement's source form without Lead and Trail.
func (s *Stmt) Text() string {
	if t, ok := s.text(); ok {
		return t
	}
	if s.Kind == KindComment {
		return ""
	}
	return s.render()
}

// itoa formats a small non-negative int without importing strconv in hot
// paths.
func itoa(n int) string {
	if n >= 0 && n < 10 {
		return string(rune('0' + n))
	}
	var buf [20]byte
	i := len(buf)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}
