package lvskit_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEStatusRowsNameRealTests keeps the README's status table honest:
// every test, benchmark, fuzz target or example a row names in its "shown
// by" column exists in the repository (a row naming a subtest needs its
// parent function).
func TestREADMEStatusRowsNameRealTests(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	funcs := testFuncs(t)
	name := regexp.MustCompile("`((?:Test|Benchmark|Fuzz|Example)[A-Za-z0-9_]*)[^`]*`")
	rows := 0
	for i, line := range strings.Split(string(readme), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || !strings.HasPrefix(line, "|") {
			continue
		}
		shown := cells[len(cells)-2]
		for _, m := range name.FindAllStringSubmatch(shown, -1) {
			rows++
			if !funcs[m[1]] {
				t.Errorf("README.md:%d names %s, which no _test.go file defines", i+1, m[1])
			}
		}
	}
	if rows < 50 {
		t.Errorf("found only %d test names in the README's status table; is the table still there?", rows)
	}
}

// testFuncs returns the names of the top-level Test, Benchmark, Fuzz and
// Example functions of every _test.go file in the module, whatever its
// build tags.
func testFuncs(t *testing.T) map[string]bool {
	t.Helper()
	decl := regexp.MustCompile(`(?m)^func ((?:Test|Benchmark|Fuzz|Example)[A-Za-z0-9_]*)\(`)
	funcs := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range decl.FindAllSubmatch(b, -1) {
			funcs[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return funcs
}
