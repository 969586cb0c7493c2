package lvskit_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/testfuncs"
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
	funcs, err := testfuncs.Names(".")
	if err != nil {
		t.Fatal(err)
	}
	return funcs
}
