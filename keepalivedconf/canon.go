package keepalivedconf

import "strings"

// FormatCanonical returns the file with canonical layout: four spaces of
// indentation per block level (up to 16 levels), '{' at the end of its keyword's line, every
// statement and '}' on a line of its own, trailing blanks removed and runs
// of blank lines reduced to one. Words, comments, definitions and ~SEQ lines
// are kept as written, so keepalived reads the same configuration.
func (f *File) FormatCanonical() []byte {
	c := canon{b: make([]byte, 0, f.size+f.size/8), noBlank: true}
	c.list(f.Stmts, 0)
	c.dropBlank()
	if len(c.b) == 0 {
		return nil
	}
	return c.b
}

// maxIndent is the deepest indentation FormatCanonical writes, in levels.
const maxIndent = 16

type canon struct {
	b []byte
	// blank: the last line written was blank; noBlank: a blank line is
	// not wanted here (start of file or block)
	blank, noBlank bool
}

func (c *canon) dropBlank() {
	if c.blank {
		c.b = c.b[:len(c.b)-1]
		c.blank = false
	}
}

func (c *canon) line(depth int, text, comment string) {
	if text == "" && comment == "" {
		if !c.noBlank && !c.blank {
			c.b = append(c.b, '\n')
			c.blank = true
		}
		return
	}
	if text == "}" {
		c.dropBlank()
	}
	c.blank, c.noBlank = false, strings.HasSuffix(text, "{")
	// indentation stops growing at maxIndent levels, so that deep nesting
	// cannot make the output many times larger than the input
	for i := 0; i < min(depth, maxIndent); i++ {
		c.b = append(c.b, "    "...)
	}
	c.b = append(c.b, text...)
	if comment != "" {
		if text != "" {
			c.b = append(c.b, ' ')
		}
		c.b = append(c.b, comment...)
	}
	c.b = append(c.b, '\n')
}

// commentOf returns the comment held in a trail ("  # x\n" gives "# x").
func commentOf(trail string) string {
	t := strings.TrimLeft(trail, " \t")
	if t != "" && (t[0] == '#' || t[0] == '!') {
		return strings.TrimRight(t, " \t\r\n")
	}
	return ""
}

func (c *canon) list(list []*Stmt, depth int) {
	for _, s := range list {
		if s.Kind == KindComment {
			c.line(depth, "", commentOf(s.Trail))
			continue
		}
		text := s.Text()
		if s.Block == nil {
			c.line(depth, text, commentOf(s.Trail))
			continue
		}
		blk := s.Block
		// comments between the keyword and '{' move above the keyword
		for _, l := range strings.Split(blk.OpenLead, "\n") {
			if cm := commentOf(l); cm != "" {
				c.line(depth, "", cm)
			}
		}
		head := text
		if head != "" {
			head += " "
		}
		if isIncludeLine(head + "{") {
			// "include {" would be read as including a file named "{"
			c.line(depth, text, commentOf(s.Trail))
			head = ""
		}
		c.line(depth, head+"{", firstComment(s.Trail, blk.OpenTrail))
		c.list(blk.Stmts, depth+1)
		if !blk.Unclosed {
			c.line(depth, "}", commentOf(blk.CloseTrail))
		}
	}
}

func firstComment(a, b string) string {
	if cm := commentOf(a); cm != "" {
		return cm
	}
	return commentOf(b)
}
