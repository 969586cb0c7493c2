package haproxy

import (
	"errors"
	"fmt"
	"strings"
)

// Word is one word of a configuration line exactly as written: quotes,
// escapes and variable references are kept in Raw.
type Word struct {
	// Raw is the word's source text.
	Raw string
	// Off is the byte offset of the word in its line's Text.
	Off int
}

// Value returns the word's value with quotes and escapes resolved the way
// HAProxy resolves them, leaving environment variable references such as
// ${PORT} as written (expansion is a separate, explicit step: see
// Line.Args). A word that cannot be decoded yields its raw text.
func (w Word) Value() string {
	if !needsDecode(w.Raw) {
		return w.Raw
	}
	args, err := decodeArgs(nil, w.Raw, nil, nil)
	switch {
	case err != nil:
		return w.Raw
	case len(args) == 0: // "" or ''
		return ""
	}
	return args[0]
}

// needsDecode reports whether raw holds a quote or backslash. Dollar signs
// alone do not matter while variables are left unexpanded.
func needsDecode(raw string) bool {
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '"', '\'', '\\':
			return true
		}
	}
	return false
}

// Env looks up an environment variable for expansion; ok is false for an
// unset variable. os.LookupEnv is an Env.
type Env func(name string) (value string, ok bool)

// MapEnv returns an Env that looks names up in m.
func MapEnv(m map[string]string) Env {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// SyntaxError is a word-splitting error: an unmatched quote or brace, a bad
// \x escape or a bad variable name, as HAProxy's tokenizer reports them.
type SyntaxError struct {
	// Col is the 0-based byte offset in the line where the fault starts.
	Col int
	// Msg says what is wrong.
	Msg string
	// Err is the class of the error (ErrUnmatchedQuote...), for errors.Is.
	Err error
}

// Error returns the message.
func (e *SyntaxError) Error() string { return e.Msg }

// Unwrap returns the class of the error.
func (e *SyntaxError) Unwrap() error { return e.Err }

// Errors reported by the tokenizer, matched with errors.Is through Error.
var (
	ErrUnmatchedQuote = errors.New("haproxy: unmatched quote")
	ErrUnmatchedBrace = errors.New("haproxy: unmatched brace in environment variable name")
	ErrBadHex         = errors.New("haproxy: truncated or invalid hexadecimal sequence")
	ErrBadVarName     = errors.New("haproxy: forbidden first char in environment variable name")
	ErrBadExpand      = errors.New("haproxy: truncated or invalid word expansion sequence")
)

type tokErr struct {
	col int
	err error
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\n' || c == '\r'
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }
func unhex(c byte) byte {
	if isDigit(c) {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}

// lexer walks one line the way HAProxy's parse_line does. It always
// records the raw word boundaries; with decode set it also resolves
// quotes, escapes and (when env is non-nil) variables into args, so both
// views of a line come from one state machine.
type lexer struct {
	text   string
	decode bool
	env    Env // nil keeps variable references verbatim
	ps     *pseudo

	words   []Word
	args    []string
	b       []byte
	comment int
	end     int
	err     *tokErr
}

func (x *lexer) emit(c byte) {
	if x.decode {
		x.b = append(x.b, c)
	}
}

func (x *lexer) newArg() {
	if x.decode {
		x.args = append(x.args, string(x.b))
		x.b = x.b[:0]
	}
}

func (x *lexer) run() {
	text := x.text
	n := len(text)
	i := 0
	for i < n && isSpace(text[i]) {
		i++
	}
	start := -1
	sq, dq := false, false
	quote := -1
	flush := func(at int) {
		if start >= 0 {
			x.words = append(x.words, Word{Raw: text[start:at], Off: start})
			start = -1
		}
	}
	fail := func(e *tokErr) {
		x.err = e
		flush(n)
		x.end = n
	}
	x.comment = -1
	for i < n {
		c := text[i]
		if c == '\r' || c == 0 || c == '\n' {
			break
		}
		if c == '#' && !sq && !dq {
			x.comment = i
			break
		}
		if isSpace(c) && !sq && !dq {
			flush(i)
			for i < n && isSpace(text[i]) {
				i++
			}
			x.newArg()
			continue
		}
		if start < 0 {
			start = i
		}
		switch {
		case c == '"' && !sq:
			dq = !dq
			quote = i
			i++
		case c == '\'' && !dq:
			sq = !sq
			quote = i
			i++
		case c == '\\' && !sq:
			// Only these sequences mean something; any other backslash
			// is kept as is, like HAProxy does.
			send := c
			if i+1 < n {
				switch d := text[i+1]; d {
				case ' ', '\\', '#', '\'', '"':
					send = d
					i++
				case 't':
					send = '\t'
					i++
				case 'n':
					send = '\n'
					i++
				case 'r':
					send = '\r'
					i++
				case '$':
					if dq {
						send = d
						i++
					}
				case 'x':
					if i+3 >= n || !isHex(text[i+2]) || !isHex(text[i+3]) {
						fail(&tokErr{i, ErrBadHex})
						return
					}
					send = unhex(text[i+2])<<4 | unhex(text[i+3])
					i += 3
				}
			}
			i++
			x.emit(send)
		case c == '$' && dq:
			j, e := scanVar(text, i)
			if e != nil {
				fail(e)
				return
			}
			if x.decode {
				x.expand(text[i:j])
			}
			i = j
		default:
			x.emit(c)
			i++
		}
	}
	x.end = i
	flush(i)
	if sq || dq {
		x.err = &tokErr{quote, ErrUnmatchedQuote}
		return
	}
	if !x.decode {
		return
	}
	// HAProxy drops a trailing empty argument (after trailing spaces, or
	// an empty quoted word at the very end).
	if len(x.b) > 0 {
		x.newArg()
	}
	// A NUL produced by \x00 ends the argument in HAProxy's C strings.
	for k, a := range x.args {
		if z := strings.IndexByte(a, 0); z >= 0 {
			x.args[k] = a[:z]
		}
	}
}

// expand writes the value of the variable reference ref.
func (x *lexer) expand(ref string) {
	if x.env == nil {
		x.b = append(x.b, ref...)
		return
	}
	val, split := lookupVar(ref, x.env, x.ps)
	for k := 0; k < len(val); {
		if split && isSpace(val[k]) {
			x.newArg()
			for k < len(val) && isSpace(val[k]) {
				k++
			}
			continue
		}
		x.b = append(x.b, val[k])
		k++
	}
}

// scanLine splits text into raw words the way HAProxy's parse_line finds
// word boundaries, appending them to words. It returns the offset of the
// comment ('#' outside quotes) or -1, and the end of the tokenized part
// (HAProxy stops at a comment, a CR or a NUL).
func scanLine(text string, words []Word) (_ []Word, comment, end int, terr *tokErr) {
	x := lexer{text: text, words: words}
	x.run()
	return x.words, x.comment, x.end, x.err
}

// scanVar skips a variable reference starting at text[i] == '$' and
// returns the offset after it.
func scanVar(text string, i int) (int, *tokErr) {
	n := len(text)
	i++
	brace := -1
	if i < n && text[i] == '{' {
		brace = i
		i++
	}
	if i >= n || !(isAlpha(text[i]) || text[i] == '_' || text[i] == '.') {
		return i, &tokErr{i, ErrBadVarName}
	}
	if text[i] == '.' {
		i++
	}
	for i < n && (isAlpha(text[i]) || isDigit(text[i]) || text[i] == '_') {
		i++
	}
	if brace < 0 {
		return i, nil
	}
	if i < n && text[i] == '[' {
		if i+2 >= n || text[i+1] != '*' || text[i+2] != ']' {
			return i, &tokErr{i, ErrBadExpand}
		}
		i += 3
	}
	if i < n && text[i] == '-' {
		for i < n && text[i] != '}' {
			i++
		}
	}
	if i >= n || text[i] != '}' {
		return i, &tokErr{brace, ErrUnmatchedBrace}
	}
	return i + 1, nil
}

// pseudo holds the values of HAProxy's internal variables .LINE, .FILE
// and .SECTION for expansion.
type pseudo struct {
	line    int
	file    string
	section string
}

// decodeArgs returns the arguments HAProxy makes of text, appended to
// dst. With a nil env, variable references are kept verbatim.
func decodeArgs(dst []string, text string, env Env, ps *pseudo) ([]string, error) {
	x := lexer{text: text, decode: true, env: env, ps: ps, args: dst}
	x.run()
	if x.err != nil {
		return dst, &SyntaxError{Col: x.err.col, Msg: msgOf(x.err.err), Err: x.err.err}
	}
	return x.args, nil
}

// lookupVar resolves one reference ref ("$NAME", "${NAME}", "${NAME-def}",
// "${NAME[*]}") already validated by scanVar.
func lookupVar(ref string, env Env, ps *pseudo) (val string, expand bool) {
	s := ref[1:]
	brace := strings.HasPrefix(s, "{")
	if brace {
		s = s[1 : len(s)-1]
	}
	name := s
	k := 0
	if k < len(s) && s[k] == '.' {
		k++
	}
	for k < len(s) && (isAlpha(s[k]) || isDigit(s[k]) || s[k] == '_') {
		k++
	}
	name, rest := s[:k], s[k:]
	if strings.HasPrefix(rest, "[*]") {
		expand = true
		rest = rest[3:]
	}
	var ok bool
	if strings.HasPrefix(name, ".") {
		if ps != nil {
			switch name {
			case ".LINE":
				val, ok = fmt.Sprint(ps.line), true
			case ".FILE":
				val, ok = ps.file, true
			case ".SECTION":
				val, ok = ps.section, true
			}
		}
	} else {
		val, ok = env(name)
	}
	if !ok && strings.HasPrefix(rest, "-") {
		val = rest[1:]
	}
	return val, expand
}

// Tokenize splits one configuration line into arguments exactly as
// HAProxy does: unquoted whitespace separates words, an unprotected '#'
// starts a comment, backslash escapes and "weak" / 'strong' quoting are
// resolved and adjacent quoted pieces join. Variables inside double quotes
// are expanded from env when env is non-nil and kept verbatim otherwise.
func Tokenize(line string, env Env) ([]string, error) {
	return decodeArgs(nil, line, env, nil)
}

// Quote returns s written as one configuration word that HAProxy reads
// back as s: unchanged when it needs no protection, otherwise quoted.
// Values containing a '$' are single-quoted so that they never expand.
func Quote(s string) string {
	if s == "" {
		return `""`
	}
	plain := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isSpace(c) || c == '#' || c == '"' || c == '\'' || c == '\\' || c < 0x20 || c == 0x7f {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	simple := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\'' || c < 0x20 || c == 0x7f {
			simple = false
			break
		}
	}
	if simple {
		return "'" + s + "'"
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', '$':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(&b, `\x%02x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
