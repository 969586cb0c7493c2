package fwmark

import (
	"errors"
	"os"
	"testing"
)

// TestTableConfigAndClose: a nil config works, a namespace path that does
// not exist is refused by NewTable with the cause, and Close is safe to
// call twice.
func TestTableConfigAndClose(t *testing.T) {
	tab, err := NewTable(nil)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Name() != DefaultTable {
		t.Errorf("name %q, want %q", tab.Name(), DefaultTable)
	}
	if err := tab.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tab.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = NewTable(&TableConfig{NetNS: "/nonexistent/netns"})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("NewTable with a missing namespace = %v, want ErrNotExist", err)
	}
	if _, err := NewTable(&TableConfig{Name: "bad name"}); err == nil {
		t.Error("NewTable accepted a bad table name")
	}
}
