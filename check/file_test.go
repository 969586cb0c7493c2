package check_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/check"
)

func TestFile(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	for i, tc := range []struct {
		content string
		c       check.File
		up      bool
		weight  check.Weight
		reason  string
	}{
		{content: "0\n", up: true},
		{content: "", up: true},
		{content: "1\n", reason: "file value 1"},
		{content: "5", c: check.File{Weight: 10}, up: true, weight: check.Weight{Set: true, Value: 50}},
		{content: "5", c: check.File{Weight: 10, Reverse: true}, up: true, weight: check.Weight{Set: true, Value: -50}},
		{content: "-254", c: check.File{Weight: 1}, reason: "gives weight -254"},
		{content: "254", c: check.File{Weight: 1, Reverse: true}, reason: "gives weight -254"},
		{content: "-253", c: check.File{Weight: 1}, up: true, weight: check.Weight{Set: true, Value: -253}},
		{content: "abc", reason: "not an integer"},
		{content: strings.Repeat("1", 100), reason: "more than 64 bytes"},
	} {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		c := tc.c
		c.Path = p
		r := c.Check(context.Background())
		if r.Up != tc.up || r.Weight != tc.weight {
			t.Errorf("%d: %q: got %+v, want up=%v weight=%v", i, tc.content, r, tc.up, tc.weight)
			continue
		}
		if !tc.up {
			mustContain(t, "Reason", r.Reason, tc.reason)
		}
	}
	r := check.File{Path: filepath.Join(dir, "missing")}.Check(context.Background())
	if r.Up || !os.IsNotExist(r.Err) {
		t.Errorf("missing file: %+v", r)
	}
}
