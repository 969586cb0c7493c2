package keepalivedconf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Hostile inputs of issue #21: each must give a clear error naming its
// place, within bounded work. The tests assert counts and sizes, never
// wall-clock time.

// countingConfig returns a ParseConfig whose file reads are counted.
func countingConfig(lim Limits) (*ParseConfig, *int, *int64) {
	n, bytesRead := new(int), new(int64)
	c := &ParseConfig{Limits: lim}
	c.readFile = func(name string, max int64) (string, error) {
		*n++
		data, err := readRegular(name, max)
		*bytesRead += int64(len(data))
		return data, err
	}
	return c, n, bytesRead
}

func TestHostileDeepNesting(t *testing.T) {
	// 4x10^6 levels (16 MB) used to overflow the stack in Format
	src := []byte(strings.Repeat("a {\n", 4_000_000))
	f, err := Parse("deep.conf", src)
	var l ErrorList
	if !errors.As(err, &l) || len(l) != 1 || !errors.Is(err, ErrLimit) || l[0].Pos.String() != "deep.conf:1001:3" {
		t.Fatalf("err = %v", err)
	}
	// the tree stops at the limit; the rest is kept as text
	n := 0
	walk(f.Stmts, func(*Stmt) { n++ })
	if n > DefaultMaxNesting+2 {
		t.Fatalf("%d statements kept", n)
	}
	if !bytes.Equal(f.Format(), src) {
		t.Fatal("Format does not give the input back")
	}
	if _, err := f.Config(); !errors.Is(err, ErrLimit) {
		t.Fatalf("Config: %v", err)
	}
}

func TestFormatAndWalkAreIterative(t *testing.T) {
	// a tree built in code has no nesting limit: Format and walk must not
	// recurse per level
	const depth = 200_000
	root := NewStmt("a")
	s := root
	for range depth {
		c := NewStmt("a")
		s.WithBlock(c)
		s = c
	}
	f := &File{Stmts: []*Stmt{root}}
	out := f.Format()
	if bytes.Count(out, []byte("{")) != depth || bytes.Count(out, []byte("}")) != depth {
		t.Fatalf("%d bytes", len(out))
	}
	n := 0
	walk(f.Stmts, func(*Stmt) { n++ })
	if n != depth+1 {
		t.Fatalf("walked %d", n)
	}
}

func TestHostileIncludeItselfTwice(t *testing.T) {
	dir := writeFiles(t, map[string]string{"b.conf": "include b.conf\ninclude b.conf\n"})
	c, reads, _ := countingConfig(Limits{})
	_, err := c.ParseFile(filepath.Join(dir, "b.conf"))
	if !errors.Is(err, ErrInclude) || !strings.Contains(err.Error(), "b.conf:1:1: include cycle: ") {
		t.Fatalf("err = %v", err)
	}
	// keepalived follows it until it runs out of file descriptors
	if *reads != 1 {
		t.Fatalf("%d files read", *reads)
	}
	// without a cycle, each file including the next twice is 2^30 reads:
	// the total include limit stops it
	files := map[string]string{}
	for i := range 30 {
		files[fmt.Sprintf("f%d.conf", i)] = strings.Repeat(fmt.Sprintf("include f%d.conf\n", i+1), 2)
	}
	dir = writeFiles(t, files)
	c, reads, _ = countingConfig(Limits{MaxIncludes: 1000})
	_, err = c.ParseFile(filepath.Join(dir, "f0.conf"))
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "includes read more than 1000 files in total") {
		t.Fatalf("err = %v", err)
	}
	if *reads != 1000+1 {
		t.Fatalf("%d files read", *reads)
	}
}

func TestHostileIncludesPerFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.conf":  strings.Repeat("include empty.conf\n", 5000),
		"empty.conf": "",
	})
	c, reads, _ := countingConfig(Limits{})
	_, err := c.ParseFile(filepath.Join(dir, "main.conf"))
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "main.conf:4097:1: the includes of") {
		t.Fatalf("err = %v", err)
	}
	if *reads != DefaultMaxIncludesPerFile+1 {
		t.Fatalf("%d files read", *reads)
	}
}

// expandSteps expands src with lim and returns the expander.
func expandSteps(t *testing.T, src string, lim Limits) (*expander, *File) {
	t.Helper()
	c := &ParseConfig{Limits: lim}
	f, _ := c.Parse("bomb.conf", []byte(src))
	ex := newExpander(c)
	ex.run(f, src)
	return ex, ex.result("bomb.conf")
}

func TestHostileExpansionLoopsThatWriteNothing(t *testing.T) {
	lst := "~LST(a,1,2,3,4,5,6,7,8,9,10)"
	for name, src := range map[string]string{
		"nested SEQ":     "~SEQ(i,1,4000000) ~SEQ(j,1,4000000) $X=$i\n",
		"nested SEQ 1M":  "~SEQ(i,1,1000000) ~SEQ(j,1,1000000) $X=$i\n",
		"nested LST":     "$A=x\n" + strings.Repeat(lst+" ", 8) + "$A=y\n",
		"definition dup": defChain(40),
	} {
		t.Run(name, func(t *testing.T) {
			lim := Limits{MaxSteps: 1_000_000}.withDefaults()
			ex, x := expandSteps(t, src, lim)
			if ex.steps > lim.MaxSteps+1 {
				t.Fatalf("%d steps", ex.steps)
			}
			if err := x.syntax.Err(); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "bomb.conf:") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// defChain returns n multi-line definitions, each twice the one before:
// 2^n lines if nothing stops it.
func defChain(n int) string {
	var b strings.Builder
	b.WriteString("$D0=x 1\\\nx 2\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "$D%d=$D%d\\\n$D%d\n", i, i-1, i-1)
	}
	fmt.Fprintf(&b, "global_defs {\n$D%d\n}\n", n-1)
	return b.String()
}

func TestHostileExpansionSize(t *testing.T) {
	// 40 bytes of ~SEQ used to cost 1.2 GB: lines and bytes are bounded
	src := "~SEQ(i,1,1000000) " + strings.Repeat("x", 200) + " $i\n"
	lim := Limits{MaxBytes: 1 << 20}.withDefaults()
	ex, x := expandSteps(t, src, lim)
	if int64(ex.out.Len()) > lim.MaxBytes {
		t.Fatalf("%d bytes", ex.out.Len())
	}
	if err := x.syntax.Err(); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "bomb.conf:1:1: expansion produces more than 1048576 bytes") {
		t.Fatalf("err = %v", err)
	}
}

func TestHostileBraceAlternatives(t *testing.T) {
	// {a,b} 20 times is 2^20 patterns
	src := "include " + strings.Repeat("{a,b}", 20) + ".conf\n"
	dir := writeFiles(t, map[string]string{"k.conf": src})
	_, err := ParseFile(filepath.Join(dir, "k.conf"))
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "k.conf:1:1: include pattern") {
		t.Fatalf("err = %v", err)
	}
}

func TestHostileFileSize(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"big.conf":  strings.Repeat("# comment\n", 1000),
		"main.conf": "include big.conf\n",
	})
	c, _, bytesRead := countingConfig(Limits{MaxFileSize: 4096})
	if _, err := c.ParseFile(filepath.Join(dir, "big.conf")); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "big.conf") {
		t.Fatalf("err = %v", err)
	}
	_, err := c.ParseFile(filepath.Join(dir, "main.conf"))
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "main.conf:1:1: cannot read included file") {
		t.Fatalf("err = %v", err)
	}
	if *bytesRead > 4096 {
		t.Fatalf("%d bytes read", *bytesRead)
	}
}

func TestLongLines(t *testing.T) {
	// keepalived 2.2.7 -t accepts a line of 1023 bytes and fails on 1024
	line := func(n int) string {
		s := "  router_id "
		return s + strings.Repeat("a", n-len(s))
	}
	for n, bad := range map[int]bool{1022: false, 1023: false, 1024: true, 2000: true} {
		src := "global_defs {\n" + line(n) + "\n}\n"
		_, err := Parse("l.conf", []byte(src))
		if (err != nil) != bad || bad && !strings.Contains(err.Error(), "l.conf:2:1024: line is") {
			t.Errorf("%d bytes: err = %v", n, err)
		}
		// a comment counts too
		src = "global_defs {\n  router_id a #" + strings.Repeat("x", n-len("  router_id a #")) + "\n}\n"
		if _, err := Parse("l.conf", []byte(src)); (err != nil) != bad {
			t.Errorf("%d bytes with comment: err = %v", n, err)
		}
	}
}

func TestMissingPlainIncludeIsNotAnError(t *testing.T) {
	// keepalived 2.2.7 -t exits 0 ("Config files missing")
	dir := writeFiles(t, map[string]string{"k.conf": "include nonexist.conf\nglobal_defs {\n    router_id a\n}\n"})
	f, err := ParseFile(filepath.Join(dir, "k.conf"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Config()
	if err != nil || len(cfg.Warnings) != 0 {
		t.Fatalf("Config: %v %v", err, cfg.Warnings)
	}
	if l := cfg.Lint(); len(l) != 1 || !strings.Contains(l[0].Error(), "k.conf:1:1: no config files matched 'nonexist.conf'") {
		t.Fatalf("lint: %v", l)
	}
}

func TestErrorsCapped(t *testing.T) {
	src := "global_defs {\n" + strings.Repeat("    nokeyword 1\n", 5000) + "}\n"
	f, _ := Parse("c.conf", []byte(src))
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.Warnings
	if len(w) != DefaultMaxErrors || !errors.Is(w[len(w)-1], ErrTooManyErrors) || w[len(w)-1].Msg != "4001 more errors not shown" {
		t.Fatalf("%d warnings, last %v", len(w), w[len(w)-1])
	}
}

func TestControlCharactersEscaped(t *testing.T) {
	f, _ := Parse("c\x1b.conf", []byte("global_defs {\n    fo\x1b]0;pwned\x07o 1\n}\n"))
	cfg, _ := f.Config()
	got := cfg.Warnings.Error()
	if strings.ContainsAny(got, "\x1b\x07") || !strings.Contains(got, `c\x1b.conf:2:5: unknown keyword 'fo\x1b]0;pwned\ao'`) {
		t.Fatalf("%q", got)
	}
}

// TestNewcomerListsIncludedVirtualServers: the simplest call chain gives
// the whole configuration, includes and all (issue #16).
func TestNewcomerListsIncludedVirtualServers(t *testing.T) {
	vs := func(a string) string {
		return "virtual_server " + a + " 80 {\n    protocol TCP\n    real_server 10.1.0.1 80 {\n    }\n}\n"
	}
	dir := writeFiles(t, map[string]string{
		"keepalived.conf": "include conf.d/*.conf\n" + vs("192.0.2.1"),
		"conf.d/a.conf":   vs("192.0.2.2") + vs("192.0.2.3"),
		"conf.d/b.conf":   "~SEQ(i,4,5) virtual_server 192.0.2.$i 80 { real_server 10.1.0.1 80 { } }\n",
	})
	f, err := ParseFile(filepath.Join(dir, "keepalived.conf"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range cfg.VirtualServers {
		got = append(got, v.Addr.String())
	}
	if strings.Join(got, " ") != "192.0.2.2:80 192.0.2.3:80 192.0.2.4:80 192.0.2.5:80 192.0.2.1:80" {
		t.Fatalf("virtual servers %v", got)
	}
	// Parse never reads includes: Config says so rather than return a
	// partial configuration silently
	data, err := os.ReadFile(filepath.Join(dir, "keepalived.conf"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := Parse("keepalived.conf", data)
	if _, err := p.Config(); !errors.Is(err, ErrInclude) || !strings.Contains(err.Error(), "keepalived.conf:1:1: include not followed") {
		t.Fatalf("Config of Parse: %v", err)
	}
}
