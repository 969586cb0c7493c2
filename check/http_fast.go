package check

// fastStatus judges a whole response held in b, read up to the end of the
// stream (eof) or, eof or not, up to a Content-Length that says it is
// complete, in place: no
// allocation, no reader, no header map. It handles only the plain case,
// which is what health checks see: HTTP/1.0 or 1.1, a three-digit status
// that may carry a body, headers on single lines of valid bytes, a
// Content-Length (or a body up to the close) within the body cap, no
// Transfer-Encoding or Trailer, and no digest or regular expression to
// match. For that case it decides as judge does (net/http's ReadResponse
// and the body read); ok is false for anything else, which judge then
// reads the slow way, so any doubt costs time, never a different verdict.
//
// Before the end of the stream (eof false) only a response complete by its
// Content-Length is decided, and what may follow it cannot change the
// verdict.
func (c *HTTP) fastStatus(b []byte, eof bool) (code int, ok bool) {
	if c.Digest != "" || c.Regex != nil || c.BodyRegex != nil || int64(len(b)) >= c.readLimit() {
		return 0, false
	}
	line, rest, ok := cutLine(b)
	if !ok || len(line) < 12 || string(line[:7]) != "HTTP/1." || line[7] != '0' && line[7] != '1' || line[8] != ' ' {
		return 0, false
	}
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return 0, false
		}
		code = code*10 + int(d-'0')
	}
	if len(line) > 12 && line[12] != ' ' {
		return 0, false
	}
	if code < 200 || code == 204 || code == 304 {
		return 0, false // no body, or an interim response: the slow way
	}
	length, first := int64(-1), []byte(nil)
	for n := 0; ; n++ {
		if n > 100 {
			return 0, false
		}
		line, rest, ok = cutLine(rest)
		if !ok {
			return 0, false
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := cutHeader(line)
		if !ok {
			return 0, false
		}
		switch {
		case asciiEqualFold(name, "Transfer-Encoding"), asciiEqualFold(name, "Trailer"):
			return 0, false
		case asciiEqualFold(name, "Content-Length"):
			// Repeated, it must be the same text (net/http's rule).
			v, ok := parseLength(value)
			if !ok || first != nil && string(first) != string(value) {
				return 0, false
			}
			length, first = v, value
		}
	}
	body := int64(len(rest))
	if length < 0 && !eof {
		return 0, false // the body ends with the stream
	}
	if length >= 0 {
		if body < length {
			return 0, false
		}
		body = length
	}
	if body > c.maxBody() {
		return 0, false
	}
	return code, true
}

// cutLine cuts b after its first CRLF; a lone LF, or none, is not ok.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	for i, x := range b {
		if x == '\n' {
			if i == 0 || b[i-1] != '\r' {
				return nil, nil, false
			}
			return b[:i-1], b[i+1:], true
		}
	}
	return nil, nil, false
}

// cutHeader splits a header line into a name of token bytes and its value
// of valid bytes, leading and trailing blanks trimmed.
func cutHeader(line []byte) (name, value []byte, ok bool) {
	i := 0
	for i < len(line) && isTokenByte(line[i]) {
		i++
	}
	if i == 0 || i == len(line) || line[i] != ':' {
		return nil, nil, false
	}
	name, value = line[:i], line[i+1:]
	for _, x := range value {
		if x < 0x20 && x != '\t' || x == 0x7f {
			return nil, nil, false
		}
	}
	for len(value) > 0 && (value[0] == ' ' || value[0] == '\t') {
		value = value[1:]
	}
	for len(value) > 0 && (value[len(value)-1] == ' ' || value[len(value)-1] == '\t') {
		value = value[:len(value)-1]
	}
	return name, value, true
}

// isTokenByte reports whether x may appear in a header name (RFC 9110
// tchar).
func isTokenByte(x byte) bool {
	switch {
	case 'a' <= x && x <= 'z', 'A' <= x && x <= 'Z', '0' <= x && x <= '9':
		return true
	}
	switch x {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// parseLength parses a Content-Length of 1 to 15 digits.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 15 {
		return 0, false
	}
	var n int64
	for _, d := range v {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int64(d-'0')
	}
	return n, true
}

// asciiEqualFold compares b with s, ignoring the case of ASCII letters
// only (bytes.EqualFold would also fold Unicode, which neither HTTP header
// names nor DNS names do).
func asciiEqualFold[S ~string | ~[]byte](b []byte, s S) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
