package testfuncs

import "testing"

func TestNamesFindsItself(t *testing.T) {
	names, err := Names(".")
	if err != nil {
		t.Fatal(err)
	}
	if !names["TestNamesFindsItself"] || len(names) != 1 {
		t.Errorf("Names(.) = %v", names)
	}
}
