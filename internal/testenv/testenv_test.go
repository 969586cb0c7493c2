package testenv

import "testing"

func TestCI(t *testing.T) {
	t.Setenv("CI", "true")
	if !CI() {
		t.Fatal("CI=true not recognised")
	}
	t.Setenv("CI", "")
	if CI() {
		t.Fatal("empty CI treated as CI")
	}
}
