package haproxy

import (
	"fmt"
	"strconv"
	"strings"
)

// intValue returns the integer after the given leading words.
func (s *Section) intValue(words ...string) (int, bool, error) {
	l := s.Find(words...)
	if l == nil {
		return 0, false, nil
	}
	v := l.Arg(len(words))
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, true, fmt.Errorf("%s: %q is not an integer", strings.Join(words, " "), v)
	}
	return n, true, nil
}

// Size returns the size after the given leading words ("tune.bufsize"),
// read with HAProxy's k/m/g suffixes.
func (s *Section) Size(words ...string) (uint64, bool, error) {
	v, ok := s.Value(words...)
	if !ok {
		return 0, false, nil
	}
	n, err := ParseSize(v)
	return n, true, err
}

// SetSize sets the directive to n, written with the largest exact suffix.
func (s *Section) SetSize(n uint64, words ...string) {
	if old, ok, err := s.Size(words...); ok && err == nil && old == n {
		return
	}
	s.Set(len(words), append(words, FormatSize(n))...)
}

// Value returns the value of the word after the given leading words of
// the first matching directive, and whether there was one.
func (s *Section) Value(words ...string) (string, bool) {
	l := s.Find(words...)
	if l == nil {
		return "", false
	}
	return l.Arg(len(words)), true
}

// Flag reports whether a directive consisting of the given words is
// present, honouring a later "no" form (as in "no option httplog").
func (s *Section) Flag(words ...string) bool {
	on := false
	for _, l := range s.Lines {
		if matchWords(l, words) && len(l.Words) == len(words) {
			on = true
		}
		if len(l.Words) == len(words)+1 && l.Arg(0) == "no" {
			nl := *l
			nl.Words = l.Words[1:]
			if matchWords(&nl, words) {
				on = false
			}
		}
	}
	return on
}

// SetFlag adds the directive made of words, or removes it (and any "no"
// form) when on is false.
func (s *Section) SetFlag(on bool, words ...string) {
	no := append([]string{"no"}, words...)
	if on {
		s.Unset(no...)
		if s.Find(words...) == nil {
			s.Add(words...)
		}
		return
	}
	s.Unset(words...)
}
