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

// sectionLike reports whether kw, written at the start of a line, looks
// like a misspelt section keyword.
func sectionLike(kw string) bool {
	switch kw {
	case "peer", "mailer", "user", "group", "bind", "server", "log", "mode", "ring",
		"http-error", "trace", "node", "crt", "key", "ca", "cookie":
		return false
	}
	for s := range sectionKeywords {
		max := 2
		if len(s) <= 5 {
			max = 1
		}
		if editDistance(kw, s, max) <= max {
			return true
		}
	}
	return false
}

// editDistance returns the Levenshtein distance of a and b, or max+1 when
// it exceeds max.
func editDistance(a, b string, max int) int {
	if d := len(a) - len(b); d > max || -d > max {
		return max + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// proxyOnly are proxy keywords HAProxy rejects in the global section.
var proxyOnly = map[string]bool{
	"mode": true, "timeout": true, "retries": true, "balance": true, "option": true,
	"acl": true, "default_backend": true, "use_backend": true, "hash-type": true,
	"http-request": true, "http-response": true, "tcp-request": true, "cookie": true,
	"default-server": true,
}

// globalOnly are global keywords HAProxy rejects in proxy sections.
var globalOnly = map[string]bool{
	"daemon": true, "pidfile": true, "chroot": true, "nbthread": true, "uid": true,
	"gid": true, "lua-load": true, "ulimit-n": true, "master-worker": true,
}

// commonKeywords are frequent keywords that no other keyword of their
// sections is one edit away from, so that a word one edit away from them
// is a typo. The list is kept short on purpose: a keyword missing here
// only lowers what Validate catches, while a wrong one would make it
// reject valid files.
var commonKeywords = map[string][]string{
	"proxy": {"server", "timeout", "option", "balance", "default_backend", "use_backend",
		"retries", "maxconn", "hash-type", "default-server", "http-request", "http-response",
		"tcp-request", "cookie", "mode", "bind", "stats"},
	"global": {"maxconn", "daemon", "pidfile", "chroot", "nbthread", "stats"},
}

// nearKeyword returns the common keyword kw is a typo of, or "".
func nearKeyword(kw, sec string) string {
	list := commonKeywords["global"]
	if isProxy(sec) {
		list = commonKeywords["proxy"]
	} else if sec != "global" {
		return ""
	}
	for _, k := range list {
		if kw != k && len(kw) >= 4 && editDistance(kw, k, 1) <= 1 {
			return k
		}
	}
	return ""
}
