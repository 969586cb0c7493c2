//go:build netns

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
)

// configIDConf is valid on cfgtest-a and invalid elsewhere: @id lines
// apply only when the config id is id, @^id lines only when it is not.
const configIDConf = `virtual_server 10.0.0.10 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
@cfgtest-a    delay_loop 1
@^cfgtest-a    delay_loop -3
    real_server 10.1.0.11 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`

// TestConfigIDMatchesKeepalived runs keepalived -t and lvsrouter -t in UTS
// namespaces with set host names, with and without -i: without -i both
// take the host name up to its first dot as the config id, so on
// cfgtest-a.example.com the @cfgtest-a line applies (exit 0) and on
// cfgtest-b.example.com the @^cfgtest-a one (exit 5); -i overrides it.
func TestConfigIDMatchesKeepalived(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "keepalived")
	testenv.NeedTool(t, "unshare")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	mustWrite(t, conf, []byte(configIDConf))
	// exit runs argv in a new UTS namespace whose host name is host.
	exit := func(host string, env []string, argv ...string) int {
		cmd := exec.Command("unshare", append([]string{"--uts", "sh", "-c", `echo "$0" > /proc/sys/kernel/hostname && exec "$@"`, host}, argv...)...)
		cmd.Env = append(os.Environ(), env...)
		code, _ := exitCode(t, cmd)
		return code
	}
	for _, c := range []struct {
		host string
		args []string
		want int
	}{
		{"cfgtest-a.example.com", nil, 0},
		{"cfgtest-a", nil, 0},
		{"cfgtest-b.example.com", nil, 5},
		{"cfgtest-a-x", nil, 5},
		{"cfgtest-b.example.com", []string{"-i", "cfgtest-a"}, 0},
		{"cfgtest-a.example.com", []string{"--config-id=cfgtest-b"}, 5},
	} {
		args := append([]string{"-t", "-f", conf}, c.args...)
		ka := exit(c.host, nil, append([]string{"keepalived", "-l"}, args...)...)
		lv := exit(c.host, []string{"LVSROUTER_AS_MAIN=1"}, append([]string{self}, args...)...)
		if ka != c.want || lv != ka {
			t.Errorf("host %s %v: keepalived -t exit %d, lvsrouter -t exit %d, want %d", c.host, c.args, ka, lv, c.want)
		} else {
			t.Logf("host %s %v: both exit %d", c.host, c.args, lv)
		}
	}
}
