package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/vrrp"
)

// mustWrite writes a file or fails the test.
func mustWrite(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeConf writes a configuration file into dir.
func writeConf(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const missingIfaceConf = `vrrp_instance X {
  interface nosuch0
  virtual_router_id 5
  priority 100
  virtual_ipaddress {
    10.0.0.1
  }
}
`

// TestConfigTestInterfaces: -t checks the configuration against this host
// as keepalived -t does: an interface that does not exist fails it with
// its place and keepalived's message. -json prints the plan for any host.
func TestConfigTestInterfaces(t *testing.T) {
	path := writeConf(t, t.TempDir(), "x.conf", missingIfaceConf)
	var stderr strings.Builder
	if code := run([]string{"-t", "-f", path}, io.Discard, &stderr); code != exitConfigTest {
		t.Errorf("-t exit %d, want %d", code, exitConfigTest)
	}
	for _, want := range []string{"x.conf:2:13: interface nosuch0 for vrrp_instance X doesn't exist", "Non-existent interface specified in configuration"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("-t stderr %q lacks %q", stderr.String(), want)
		}
	}
	if code := run([]string{"-json", "-f", path}, io.Discard, io.Discard); code != exitOK {
		t.Errorf("-json exit %d, want 0", code)
	}
}

// TestStartExitCodes: a start whose configuration fails exits as
// keepalived 2.2.7 does (2 for a configuration error, including a missing
// interface; 6 for a missing file), and only lint findings never block: a
// plain include that matches nothing starts.
func TestStartExitCodes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, path string
		code       int
	}{
		{"missing interface", writeConf(t, dir, "iface.conf", missingIfaceConf), exitConfig},
		{"range", writeConf(t, dir, "range.conf", strings.Replace(missingIfaceConf, "id 5", "id 500", 1)), exitConfig},
		{"braces", writeConf(t, dir, "braces.conf", "vrrp_instance X {\n"), exitConfig},
		{"missing file", filepath.Join(dir, "nosuch.conf"), exitNoConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			if code := run([]string{"-f", tc.path}, io.Discard, &stderr); code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, stderr.String())
			}
		})
	}
	// A lint finding only: -t and the check of a start agree it is fine.
	lint := writeConf(t, dir, "lint.conf", "include "+filepath.Join(dir, "none-*.conf")+"\n")
	var stderr strings.Builder
	if code := run([]string{"-t", "-f", lint}, io.Discard, &stderr); code != exitOK {
		t.Errorf("-t on a lint finding: exit %d: %s", code, stderr.String())
	}
	if _, _, err := load(lint, interfaceExists); err != nil {
		t.Errorf("start/reload on a lint finding: %v", err)
	}
}

// TestReloadRejectedKeepsState reloads a running Router with plans that
// fail the checks (an interface the host lacks, a VRRP instance vrrp
// refuses, an invalid IPVS service): each is refused with its reason and
// the running plan, checks and IPVS state stay exactly as they were.
func TestReloadRejectedKeepsState(t *testing.T) {
	dir := t.TempDir()
	good := writeConf(t, dir, "good.conf", `virtual_server 10.0.0.1 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    delay_loop 0.05
    real_server 10.1.0.1 80 {
        MISC_CHECK {
            misc_path /bin/true
        }
    }
}
`)
	p, _, err := load(good, anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	r := newRouter(slog.New(slog.DiscardHandler))
	r.hasInterface = func(name string) bool { return name != "gone0" }
	if r.mon, err = check.NewMonitor(&check.MonitorConfig{OnTransition: r.onCheck, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	ops := &nullOps{}
	r.applier = ipvs.NewApplier(ops)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); r.close() }()
	if err := r.Load(ctx, p); err != nil {
		t.Fatal(err)
	}
	id := p.Services[0].Reals[0].Checks[0].ID
	opsBefore := ops.ops
	inst := func(iface string, vrid uint8) vrrp.Config {
		return vrrp.Config{Name: "VI", Interface: iface, VRID: vrid, Priority: 100,
			VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.0.0.9/24")}}}
	}
	changed := *p
	changed.Services = append([]VirtualService(nil), p.Services...)
	changed.Services[0].Service.Scheduler = "sh"
	badService := changed
	badService.Services = append([]VirtualService(nil), changed.Services...)
	badService.Services[0].Service.Scheduler = "a-scheduler-name-too-long"
	for _, tc := range []struct {
		name string
		plan Plan
		want string
	}{
		{"missing interface", Plan{Instances: []vrrp.Config{inst("gone0", 7)}, Services: changed.Services}, errNoInterface.Error()},
		{"vrrp refuses", Plan{Instances: []vrrp.Config{inst("eth9", 0)}, Services: changed.Services}, "vrrp_instance VI"},
		{"ipvs refuses", badService, "Scheduler"},
	} {
		err := r.Load(ctx, &tc.plan)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Load = %v, want an error with %q", tc.name, err, tc.want)
		}
		if r.plan != p || len(r.units) != 0 || ops.ops != opsBefore {
			t.Errorf("%s: the running state changed (plan replaced %v, %d VRRP units, %d IPVS operations)", tc.name, r.plan != p, len(r.units), ops.ops-opsBefore)
		}
		if _, ok := r.mon.Stats(id); !ok {
			t.Errorf("%s: the running check %s is gone", tc.name, id)
		}
	}
	// A good reload still applies.
	if err := r.Load(ctx, &changed); err != nil || r.plan != &changed || ops.ops == opsBefore {
		t.Errorf("good reload: %v (plan replaced %v, %d operations)", err, r.plan == &changed, ops.ops-opsBefore)
	}
}

// TestHUPDuringStart runs lvsrouter on a configuration that takes a while
// to load and sends SIGHUP as soon as it has begun loading, before it has
// started: the process survives (the handler is installed before the first
// load), starts, and applies the queued reload after start.
func TestHUPDuringStart(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := range 30000 {
		fmt.Fprintf(&b, "vrrp_script s%d {\n  script /bin/true\n  interval 5\n}\n", i)
	}
	conf := writeConf(t, dir, "slow.conf", b.String())
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-f", conf, "-log-level", "debug")
	cmd.Env = append(os.Environ(), "LVSROUTER_AS_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // the test reads only the few lines it waits for
			}
		}
		close(lines)
		done <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	var log []string
	waitLine := func(want string) {
		t.Helper()
		timeout := time.After(60 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("lvsrouter exited (%v) before logging %q:\n%s", <-done, want, strings.Join(log, "\n"))
				}
				log = append(log, l)
				if strings.Contains(l, want) {
					return
				}
			case <-timeout:
				t.Fatalf("no %q within 60s:\n%s", want, strings.Join(log, "\n"))
			}
		}
	}
	waitLine("loading configuration")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLine("msg=started")
	waitLine("msg=reloading")
	waitLine("msg=reloaded")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	var ee *exec.ExitError
	if err := <-done; errors.As(err, &ee) || err != nil {
		t.Fatalf("lvsrouter: %v", err)
	}
}

// TestSettingsNotSilentlyIgnored: every setting Translate reads has an
// effect or is refused with its place: use_vmac and vrrp_strict map to
// vrrp's VMAC and FilterNonAccept; mail alerts, another multicast group
// and virtual_ipaddress_excluded are refused (keywords.go).
func TestSettingsNotSilentlyIgnored(t *testing.T) {
	dir := t.TempDir()
	conf := `global_defs {
  vrrp_strict
}
vrrp_instance X {
  interface eth0
  use_vmac vrrp77
  virtual_router_id 5
  priority 100
  virtual_ipaddress {
    10.0.0.1
  }
}
`
	p, warnings, err := load(writeConf(t, dir, "ok.conf", conf), anyInterface)
	if err != nil || len(warnings) > 0 {
		t.Fatal(err, warnings)
	}
	c := p.Instances[0]
	if !c.VMAC || c.VMACName != "vrrp77" || !c.FilterNonAccept {
		t.Errorf("use_vmac vrrp77 / vrrp_strict: VMAC %v %q, FilterNonAccept %v", c.VMAC, c.VMACName, c.FilterNonAccept)
	}
	for name, tc := range map[string]struct{ text, want string }{
		"mail": {strings.Replace(conf, "  vrrp_strict\n", "  notification_email {\n    a@example.com\n  }\n  smtp_server 127.0.0.1\n", 1),
			"mail.conf:2:3: global_defs: notification_email is not supported by lvsrouter"},
		"alert":    {strings.Replace(conf, "  priority 100\n", "  priority 100\n  smtp_alert\n", 1), "alert.conf:9:3: vrrp_instance: smtp_alert is not supported by lvsrouter"},
		"mcast":    {strings.Replace(conf, "vrrp_strict", "vrrp_mcast_group4 224.0.0.19", 1), "mcast.conf:2:3: global_defs: vrrp_mcast_group4 is not supported by lvsrouter"},
		"excluded": {strings.Replace(conf, "  priority 100\n", "  priority 100\n  virtual_ipaddress_excluded {\n    10.0.0.2\n  }\n", 1), "excluded.conf:9:3: vrrp_instance: virtual_ipaddress_excluded is not supported by lvsrouter"},
	} {
		_, _, err := load(writeConf(t, dir, name+".conf", tc.text), anyInterface)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
