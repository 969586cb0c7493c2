package haproxy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func addSeeds(f *testing.F) {
	f.Add([]byte(tricky))
	f.Add([]byte(diffBase))
	files, _ := filepath.Glob("testdata/*.cfg")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, d := range diffCases {
		if d.old == "" {
			f.Add([]byte(diffBase + d.new))
		} else {
			f.Add([]byte(strings.Replace(diffBase, d.old, d.new, 1)))
		}
	}
}

// FuzzParse checks that any input round-trips byte for byte, that
// validation and expansion never panic, and that an edited config
// re-parses to the same text.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.cfg", data)
		if err != nil {
			t.Fatal(err)
		}
		if out := c.Format(); !bytes.Equal(out, data) {
			t.Fatalf("round trip differs:\n%q\n%q", data, out)
		}
		warns, verr := c.Check(nil)
		var list ErrorList
		errors.As(verr, &list)
		for _, l := range []ErrorList{warns, list} {
			if len(l) > maxFindings+1 {
				t.Fatalf("%d findings", len(l))
			}
			for _, e := range l {
				if m := e.Error(); strings.ContainsFunc(m, func(r rune) bool { return r < 0x20 || r == 0x7f }) || len(m) > maxMsg+len(e.Pos.String())+8 {
					t.Fatalf("finding not sanitized: %q", m)
				}
			}
		}
		env := MapEnv(map[string]string{"A": "x y", "B": ""})
		for _, l := range c.Lines() {
			l.Args(env, "f.cfg", "s")
		}
		for _, p := range c.Backends() {
			for _, s := range p.Servers() {
				s.Weight = new(7)
				s.Check = On
				p.SetServer(s)
			}
			p.Balance()
			p.HashType()
		}
		for _, p := range c.Frontends() {
			p.Binds()
			p.UseBackends()
		}
		if bs := c.Backends(); len(bs) > 0 {
			if ss := bs[0].Servers(); len(ss) > 0 {
				bs[0].DeleteServer(ss[0].Name)
			}
			c.DeleteSection(bs[len(bs)-1].Section)
		}
		out := c.Format()
		c2, err := Parse("f.cfg", out)
		if err != nil {
			t.Fatal(err)
		}
		if out2 := c2.Format(); !bytes.Equal(out, out2) {
			t.Fatalf("Parse(Format(x)) unstable:\n%q\n%q", out, out2)
		}
	})
}

// FuzzTokenize checks the lossless scanner against the decoder and that
// Quote always reads back.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{`a "b c" 'd' \x41 # x`, `"${A[*]}" "${B-x y}"`, `a\ b\#c`, `"unterminated`, `\xZ`, `"$1"`, `a ""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n") {
			return
		}
		ws, _, _, terr := scanLine(line, nil)
		args, err := Tokenize(line, nil)
		if (terr == nil) != (err == nil) {
			t.Fatalf("scanner error %v, decoder error %v", terr, err)
		}
		if err == nil {
			n := len(ws)
			if len(args) != n && !(len(args) == n-1 && ws[n-1].Value() == "") {
				t.Fatalf("%d raw words %v, %d args %q", n, ws, len(args), args)
			}
		}
		Tokenize(line, MapEnv(map[string]string{"A": " a  b ", "B": "x"}))
		if !strings.ContainsRune(line, 0) {
			got, err := Tokenize("k "+Quote(line)+" z", nil)
			if err != nil || !slices.Equal(got, []string{"k", line, "z"}) {
				t.Fatalf("Quote(%q) = %s reads back as %q, %v", line, Quote(line), got, err)
			}
		}
	})
}

// FuzzParseStat checks that show stat and servers state parsing never
// panic.
func FuzzParseStat(f *testing.F) {
	f.Add(sampleStat)
	f.Add(sampleServersState)
	f.Add("# a,b\n1\n")
	f.Fuzz(func(t *testing.T, s string) {
		if rows, err := ParseStat(s); err == nil {
			for _, r := range rows {
				FindStat(rows, r.Proxy, r.Name)
			}
		}
		ParseServersState(s)
	})
}

// FuzzParseWeight checks that ParseWeight never panics, that what it
// accepts is in HAProxy's range and prints back to an accepted weight of
// the same value.
func FuzzParseWeight(f *testing.F) {
	for _, s := range []string{"0", "256", "257", "-5", "50%", "-5%", "%", "", " +7", "99999999999%", "1\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseWeight(s)
		if err != nil {
			return
		}
		if w.Value < 0 || (!w.Relative && w.Value > MaxWeight) || w.Value > 25600 {
			t.Fatalf("ParseWeight(%q) = %+v", s, w)
		}
		if n := w.Of(MaxWeight); n < 0 || n > MaxWeight {
			t.Fatalf("%+v of 256 = %d", w, n)
		}
		if w2, err := ParseWeight(w.String()); err != nil || w2 != w {
			t.Fatalf("%+v -> %q -> %+v, %v", w, w.String(), w2, err)
		}
	})
}
