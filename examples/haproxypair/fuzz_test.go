package main

import "testing"

// FuzzParseServer feeds -server values to the parser: no panic, and a
// value it accepts has a name, a valid address and a weight in range.
func FuzzParseServer(f *testing.F) {
	for _, s := range []string{"rgw1=10.0.0.71:80", "a=[2001:db8::1]:8080@256", "=1.2.3.4:80", "x=1.2.3.4", "x=1.2.3.4:80@", "x=1.2.3.4:80@0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := parseServer(s, false)
		if err != nil {
			return
		}
		if b.Name == "" || !b.Addr.IsValid() || b.Weight < 0 || b.Weight > 256 {
			t.Fatalf("%q accepted as %+v", s, b)
		}
	})
}
