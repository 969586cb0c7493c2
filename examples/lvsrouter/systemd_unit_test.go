package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
)

// TestServiceUnitVerifies: systemd-analyze verify finds nothing to report
// in the shipped unit, nor in Debian's own keepalived.service with only
// ExecStart's binary changed to lvsrouter (the binary path points at
// this test binary, which exists; man pages are not looked up). No
// systemd runs as PID 1 here nor in the VM guest (a busybox initramfs
// whose PID 1 is the test harness), so the Type=notify exchange itself is
// TestSystemdNotify's, against a NOTIFY_SOCKET of the test's own.
func TestServiceUnitVerifies(t *testing.T) {
	analyze := testenv.NeedTool(t, "systemd-analyze")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile("lvsrouter.service")
	if err != nil {
		t.Fatal(err)
	}
	units := map[string]string{"lvsrouter.service": strings.ReplaceAll(string(shipped), "/usr/sbin/lvsrouter", self)}
	if debian, err := os.ReadFile("/lib/systemd/system/keepalived.service"); err == nil {
		units["keepalived.service"] = strings.ReplaceAll(string(debian), "/usr/sbin/keepalived", self)
		// The shipped unit is Debian's: the same lines but for the
		// description, the documentation, the binary and the watchdog.
		differ := func(l string) bool {
			return strings.HasPrefix(l, "Description=") || strings.HasPrefix(l, "Documentation=") || strings.HasPrefix(l, "WatchdogSec=")
		}
		a := slices.DeleteFunc(strings.Split(string(shipped), "\n"), differ)
		b := slices.DeleteFunc(strings.Split(strings.ReplaceAll(string(debian), "/usr/sbin/keepalived", "/usr/sbin/lvsrouter"), "\n"), differ)
		if !slices.Equal(a, b) {
			t.Errorf("lvsrouter.service differs from Debian's keepalived.service beyond Description, Documentation, the binary and WatchdogSec:\n%s\nvs\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
		}
	}
	dir := t.TempDir()
	for name, unit := range units {
		path := filepath.Join(dir, name)
		mustWrite(t, path, []byte(unit))
		out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", name, err, out)
		}
	}
}
