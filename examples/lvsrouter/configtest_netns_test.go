//go:build netns

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// TestConfigTestMatchesKeepalived runs keepalived -t and lvsrouter -t on
// the same files (virtual servers, and VRRP only on an interface no host
// has: keepalived -t judges interfaces, and rejects lo) and expects the
// same exit code: 0, 5 for errors and warnings, 6 for scripts without
// enable_script_security. It needs root
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
		// An interface the host lacks fails both (5).
		"missing-interface": "vrrp_instance X {\n  interface nosuch0\n  virtual_router_id 5\n  priority 100\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n",
		// Scripts without enable_script_security: keepalived -t exits 6.
		"script-security": "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n  real_server 10.1.0.1 80 {\n    MISC_CHECK {\n      misc_path /bin/true\n    }\n  }\n}\n",
		"script-secure":   "global_defs {\n  script_user root\n  enable_script_security\n}\nvirtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n  real_server 10.1.0.1 80 {\n    MISC_CHECK {\n      misc_path /bin/true\n    }\n  }\n}\n",
		// A plain include that matches nothing is accepted (0).
		"missing-include": "include /nonexistent/lvskit-*.conf\nvirtual_server 10.0.0.1 53 {\n  protocol UDP\n  lb_algo rr\n  lb_kind DR\n  real_server 10.1.0.1 53 {\n  }\n}\n",
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

// TestStartMatchesKeepalived starts keepalived and lvsrouter, each in a
// namespace of its own, on configurations that must not start, and expects
// the same exit code: 2 for a configuration error (keepalived's parent when
// its child stops with a permanent configuration error), 6 for a missing
// file.
func TestStartMatchesKeepalived(t *testing.T) {
	self := needKeepalivedPeer(t)
	dir := t.TempDir()
	inst := "vrrp_instance X {\n  interface %s\n  virtual_router_id %s\n  priority 100\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n"
	confs := map[string]string{
		"missing-interface": fmt.Sprintf(inst, "nosuch0", "5"),
		"vrid-range":        fmt.Sprintf(inst, "eth0", "500"),
		"braces":            "vrrp_instance X {\n",
		"missing-file":      "",
	}
	exit := func(t *testing.T, p *netns.Process) int {
		t.Helper()
		select {
		case <-p.Done():
		case <-time.After(20 * time.Second):
			t.Fatalf("still running after 20s:\n%s", p.Output())
		}
		return p.Cmd.ProcessState.ExitCode()
	}
	for name, conf := range confs {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".conf")
			if conf != "" {
				if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// Both see an eth0, so only the configuration differs.
			a, b := netns.New(t), netns.New(t)
			netns.Veth(t, a, "eth0", b, "eth0")
			run := t.TempDir()
			ka := a.Start("keepalived", "-n", "-l", "-D", "-G", "-R", "-f", path,
				"-p", filepath.Join(run, "k.pid"), "-r", filepath.Join(run, "v.pid"), "-c", filepath.Join(run, "c.pid"))
			want := exit(t, ka)
			lv := b.StartEnv([]string{"LVSROUTER_AS_MAIN=1"}, self, "-f", path)
			got := exit(t, lv)
			t.Logf("keepalived exit %d, lvsrouter exit %d", want, got)
			if got != want {
				t.Errorf("lvsrouter exit %d, keepalived exit %d\nkeepalived:\n%s\nlvsrouter:\n%s", got, want, ka.Output(), lv.Output())
			}
		})
	}
}
