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

func TestSkipUnlessHelperRunsOnlyAsChild(t *testing.T) {
	t.Setenv("CI", "true")
	t.Setenv("LVSKIT_TESTENV_HELPER", "1")
	ran := false
	t.Run("child", func(t *testing.T) {
		SkipUnlessHelper(t, "LVSKIT_TESTENV_HELPER", "TestSkipUnlessHelperRunsOnlyAsChild")
		ran = true
	})
	if !ran {
		t.Fatal("helper skipped although its variable is set")
	}
	t.Setenv("LVSKIT_TESTENV_HELPER", "")
	t.Run("skipped", func(t *testing.T) {
		defer func() {
			if !t.Skipped() {
				t.Error("helper ran without its variable (or failed under CI)")
			}
		}()
		SkipUnlessHelper(t, "LVSKIT_TESTENV_HELPER", "TestSkipUnlessHelperRunsOnlyAsChild")
	})
}
