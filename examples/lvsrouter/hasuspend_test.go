package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestHASuspendRefusedWithItsPlace: keepalived suspends a ha_suspend
// service's checkers while its address is not local, which lvsrouter does
// not do (in one process nor in a -P/-C pair): the keyword is refused
// with its place instead of being ignored.
func TestHASuspendRefusedWithItsPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	mustWrite(t, path, []byte(`virtual_server 10.0.0.10 80 {
    delay_loop 1
    ha_suspend
    lb_algo rr
    protocol TCP
    real_server 10.1.0.11 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`))
	_, err := translateFile(t, path)
	if err == nil {
		t.Fatal("ha_suspend accepted")
	}
	for _, want := range []string{path + ":3:5", "ha_suspend", "not supported"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
