// Package testfuncs lists the test functions a module defines, for the
// tests that keep documentation honest: the README's status table and
// lvsrouter's keyword table name tests, and those tests must exist.
package testfuncs

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

var decl = regexp.MustCompile(`(?m)^func ((?:Test|Benchmark|Fuzz|Example)[A-Za-z0-9_]*)\(`)

// Names returns the names of the top-level Test, Benchmark, Fuzz and
// Example functions of every _test.go file under root, whatever its build
// tags, skipping hidden directories and testdata.
func Names(root string) (map[string]bool, error) {
	funcs := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != root || d.Name() == "testdata") {
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
	return funcs, err
}
