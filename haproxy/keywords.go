package haproxy

import "strings"

// knownKeyword reports whether HAProxy 2.6 knows kw as the first word of
// a line in a section of keyword sec. Only the global and proxy sections
// are covered; others report true. "no" and "default" prefix an option.
func knownKeyword(kw, sec string) bool {
	switch {
	case sec == "global":
		return globalKeywords26[kw]
	case isProxy(sec):
		return kw == "no" || kw == "default" || proxyKeywords26[kw]
	}
	return true
}

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}
