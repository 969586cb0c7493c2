package keepalivedconf

import (
	"errors"
	"strings"
)

// ScriptArgv splits a script command (the value of script, notify*,
// misc_path, quorum_up/down, notify_up/down) into the argument vector
// keepalived executes; keepalived runs scripts without a shell. Blanks
// separate words; single or double quotes group them; a backslash escapes
// the next character, with C escapes (\n, \t, \xHH, \NNN octal, \cX...).
func ScriptArgv(cmd string) ([]string, error) {
	var argv []string
	var word strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch {
		case c == '\\':
			i++
			if i >= len(cmd) {
				return nil, errors.New("keepalivedconf: missing escaped character at end of script")
			}
			var n int
			c, n = unescape(cmd[i:])
			i += n - 1
			word.WriteByte(c)
			inWord = true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				word.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote = c
			inWord = true
		case isSpace(c):
			if inWord {
				argv = append(argv, word.String())
				word.Reset()
				inWord = false
			}
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errors.New("keepalivedconf: script " + cmd + ": missing terminating " + string(quote))
	}
	if inWord {
		argv = append(argv, word.String())
	}
	return argv, nil
}

// unescape decodes the escape sequence at the start of s (after the
// backslash) and returns the byte and how many bytes of s it used.
func unescape(s string) (byte, int) {
	hexVal := func(c byte) (byte, bool) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', true
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			return c | 0x20 - 'a' + 10, true
		}
		return 0, false
	}
	switch c := s[0]; {
	case c == 'x' && len(s) > 1:
		if _, ok := hexVal(s[1]); ok {
			var v byte
			n := 1
			for n < len(s) {
				d, ok := hexVal(s[n])
				if !ok {
					break
				}
				v = v<<4 | d
				n++
			}
			return v, n
		}
	case c == 'c' && len(s) > 1:
		return s[1] & 0x1f, 2
	case c >= '0' && c <= '7':
		v, n := c-'0', 1
		for n < 3 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			v = v<<3 + s[n] - '0'
			n++
		}
		return v, n
	}
	switch s[0] {
	case 'a':
		return '\a', 1
	case 'b':
		return '\b', 1
	case 'E':
		return 0x1b, 1
	case 'f':
		return '\f', 1
	case 'n':
		return '\n', 1
	case 'r':
		return '\r', 1
	case 't':
		return '\t', 1
	case 'v':
		return '\v', 1
	}
	return s[0], 1
}
