//go:build netns

package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
)

// TestConfigTestMatchesKeepalived runs keepalived -t and lvsrouter -t on
// the same files (virtual servers only: keepalived -t also fails on
// interfaces the host lacks) and expects the same exit code. It needs root
// because keepalived judges files and scripts by their owner.
func TestConfigTestMatchesKeepalived(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "keepalived")
	dir := t.TempDir()
	files, _ := filepath.Glob("../../keepalivedconf/testdata/seed/*virtual_server*.conf")
	files = append(files, "testdata/features.d/services.conf")
	for name, conf := range map[string]string{
		"complete":    "virtual_server 10.0.0.1 53 {\n  protocol UDP\n  lb_algo rr\n  lb_kind DR\n  real_server 10.1.0.1 53 {\n  }\n}\n",
		"no-protocol": "virtual_server 10.0.0.1 53 {\n  lb_algo rr\n  lb_kind DR\n  real_server 10.1.0.1 53 {\n  }\n}\n",
		"no-lb_algo":  "virtual_server 10.0.0.1 53 {\n  protocol UDP\n  lb_kind DR\n  real_server 10.1.0.1 53 {\n  }\n}\n",
		"no-lb_kind":  "virtual_server 10.0.0.1 53 {\n  protocol UDP\n  lb_algo rr\n  real_server 10.1.0.1 53 {\n  }\n}\n",
		"fwmark":      "virtual_server fwmark 7 {\n  lb_algo sh\n  lb_kind DR\n  persistence_timeout 60\n  real_server 10.1.0.1 {\n  }\n}\n",
		"bad-sched":   "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_algo nosuch\n  lb_kind NAT\n  real_server 10.1.0.1 80 {\n  }\n}\n",
		"unknown":     "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n  frobnicate 3\n  real_server 10.1.0.1 80 {\n  }\n}\n",
		"braces":      "virtual_server 10.0.0.1 80 {\n  protocol TCP\n",
	} {
		path := filepath.Join(dir, name+".conf")
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out, err := exec.Command("keepalived", "-t", "-f", f).CombinedOutput()
			want := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				want = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if got := run([]string{"-t", "-f", f}, io.Discard, io.Discard); got != want {
				t.Errorf("lvsrouter -t exit %d, keepalived -t exit %d:\n%s", got, want, out)
			}
		})
	}
}
