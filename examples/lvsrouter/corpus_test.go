package main

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/keepalivedconf"
)

// corpus lists the keepalived configurations the seam tests run on: this
// package's testdata, keepalivedconf's, and keepalived's samples when the
// package is installed.
func corpus(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, root := range []string{"testdata", "../../keepalivedconf/testdata", "/usr/share/doc/keepalived/samples"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "fuzz" {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() && (strings.HasSuffix(path, ".conf") || strings.Contains(d.Name(), "keepalived.conf")) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil && !(root[0] == '/' && errors.Is(err, fs.ErrNotExist)) {
			t.Fatal(err)
		}
	}
	if len(files) < 10 {
		t.Fatalf("corpus has %d files", len(files))
	}
	return files
}

// translateOnly is what keepalived accepts as a configuration: it reads,
// expands and decodes without an error (warnings are allowed: keepalived
// starts with them), and Translate takes it.
func translateOnly(path string) (*Plan, error) {
	f, err := keepalivedconf.ParseFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	return Translate(cfg)
}

// TestEveryAcceptedConfigStarts is the seam between the configuration and
// the packages: every configuration of the corpus that keepalivedconf and
// Translate accept is accepted by every package's validation as the router
// starts it (vrrp's Add of every instance and sync group, ipvs's Validate
// of every service and destination, check's Monitor taking every target),
// so nothing that passes -t fails at start. Interfaces are taken as
// present: the host check is TestConfigTestInterfaces'.
func TestEveryAcceptedConfigStarts(t *testing.T) {
	accepted := 0
	for _, path := range corpus(t) {
		if strings.Contains(path, "kwprobe") && (strings.Contains(path, "-broken") || strings.Contains(path, "fidelity-")) {
			continue // made to fail -t, which checks the plan too
		}
		p, err := translateOnly(path)
		if err != nil {
			continue
		}
		accepted++
		if err := checkPlan(p, anyInterface); err != nil {
			t.Errorf("%s: accepted by Translate, refused at start:\n%v", path, err)
			continue
		}
		mon, err := check.NewMonitor(&check.MonitorConfig{})
		if err != nil {
			t.Fatal(err)
		}
		for _, ts := range targets(p) {
			if err := mon.Add(ts); err != nil {
				t.Errorf("%s: check.Monitor refuses %s: %v", path, ts.ID, err)
			}
		}
		mon.Close()
	}
	t.Logf("%d configurations of the corpus accepted by Translate", accepted)
	if accepted == 0 {
		t.Fatal("no configuration of the corpus was accepted")
	}
}

// TestAdvertIntRounded: a fractional advert_int under VRRPv2 is rounded to
// whole seconds as keepalived does (-t reports it), so vrrp runs it;
// VRRPv3 keeps centiseconds.
func TestAdvertIntRounded(t *testing.T) {
	for _, tc := range []struct {
		in      time.Duration
		version uint8
		want    time.Duration
	}{
		{500 * time.Millisecond, 2, time.Second},
		{1400 * time.Millisecond, 2, time.Second},
		{1500 * time.Millisecond, 2, 2 * time.Second},
		{300 * time.Millisecond, 2, time.Second},
		{300 * time.Second, 2, 255 * time.Second},
		{50 * time.Millisecond, 3, 50 * time.Millisecond},
		{55 * time.Millisecond, 3, 60 * time.Millisecond},
		{50 * time.Second, 3, 40950 * time.Millisecond},
	} {
		if got := advertInterval(tc.in, tc.version); got != tc.want {
			t.Errorf("advert_int %v under VRRPv%d: %v, want %v", tc.in, tc.version, got, tc.want)
		}
	}
	p, err := translateOnly("testdata/advert_half.conf")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Instances[0].Interval; got != time.Second {
		t.Errorf("advert_int 0.5 under VRRPv2: %v, want 1s", got)
	}
	if err := checkPlan(p, anyInterface); err != nil {
		t.Errorf("advert_int 0.5 under VRRPv2 does not start: %v", err)
	}
}

// TestScriptArgvSameAsKeepalivedconf: for every configuration of the
// corpus the router accepts, the argv it runs for each script line
// (notify, track, quorum, MISC_CHECK) is the argv keepalivedconf's
// ScriptArgv gives for it, the one keepalivedconf validates.
func TestScriptArgvSameAsKeepalivedconf(t *testing.T) {
	key := func(argv []string) string { return strings.Join(argv, "\x00") }
	lines := 0
	for _, path := range corpus(t) {
		p, err := translateOnly(path)
		if err != nil {
			continue
		}
		f, _ := keepalivedconf.ParseFile(path)
		cfg, _ := f.Config()
		want := map[string]bool{}
		for _, s := range scriptLines(cfg) {
			argv, err := keepalivedconf.ScriptArgv(s)
			if err != nil {
				t.Errorf("%s: Translate accepted script %q that keepalivedconf does not split: %v", path, s, err)
			}
			want[key(argv)] = true
			lines++
		}
		got := map[string]bool{}
		for _, argv := range planScripts(p) {
			got[key(argv)] = true
		}
		for k := range got {
			if !want[k] {
				t.Errorf("%s: the router runs %q, which keepalivedconf splits from no script line", path, strings.Split(k, "\x00"))
			}
		}
		for k := range want {
			if !got[k] {
				t.Errorf("%s: keepalivedconf's argv %q is not run by the router", path, strings.Split(k, "\x00"))
			}
		}
	}
	t.Logf("%d script lines compared", lines)
	if lines == 0 {
		t.Fatal("no script line in the corpus")
	}
}

// planScripts lists every argv a plan runs.
func planScripts(p *Plan) [][]string {
	var out [][]string
	add := func(argvs ...[]string) {
		for _, a := range argvs {
			if len(a) > 0 {
				out = append(out, a)
			}
		}
	}
	for _, c := range p.Instances {
		add(c.Notify.Master, c.Notify.Backup, c.Notify.Fault, c.Notify.Stop, c.Notify.Notify)
		for _, ts := range c.TrackScripts {
			add(ts.Command)
		}
	}
	for _, vs := range p.Services {
		add(vs.QuorumUp(), vs.QuorumDown())
		for _, rs := range vs.Reals {
			add(rs.notify())
			for _, t := range rs.Checks {
				if e, ok := t.Checker.(check.Exec); ok {
					add(append([]string{e.Path}, e.Args...))
				}
			}
		}
	}
	return out
}

// scriptLines lists every script command of a configuration.
func scriptLines(cfg *keepalivedconf.Config) []string {
	var out []string
	add := func(s ...string) {
		for _, x := range s {
			if x != "" {
				out = append(out, x)
			}
		}
	}
	used := map[string]bool{}
	for _, in := range cfg.Instances {
		for _, t := range in.TrackScripts {
			used[t.Name] = true
		}
	}
	for _, s := range cfg.Scripts {
		if used[s.Name] {
			add(s.Script)
		}
	}
	for _, in := range cfg.Instances {
		add(in.Notify, in.NotifyMaster, in.NotifyBackup, in.NotifyFault, in.NotifyStop)
	}
	for _, vs := range cfg.VirtualServers {
		add(vs.QuorumUp, vs.QuorumDown)
		for _, rs := range vs.RealServers {
			add(rs.NotifyUp, rs.NotifyDown)
			for _, c := range rs.Checkers {
				if m, ok := c.(*keepalivedconf.MiscCheck); ok {
					add(m.Path)
				}
			}
		}
	}
	return out
}
