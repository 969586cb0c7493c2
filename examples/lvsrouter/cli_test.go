package main

import (
	"bytes"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
)

// keepalivedOptions are keepalived 2.2.7's --help options (short, long):
// TestKeepalivedHelpMatches checks the list against the installed one.
var keepalivedOptions = [][2]string{
	{"f", "use-file"}, {"P", "vrrp"}, {"C", "check"}, {"B", "no_bfd"}, {"", "all"},
	{"l", "log-console"}, {"D", "log-detail"}, {"S", "log-facility"}, {"G", "no-syslog"},
	{"u", "umask"}, {"X", "release-vips"}, {"V", "dont-release-vrrp"}, {"I", "dont-release-ipvs"},
	{"R", "dont-respawn"}, {"n", "dont-fork"}, {"d", "dump-conf"}, {"p", "pid"}, {"r", "vrrp_pid"},
	{"T", "genhash"}, {"c", "checkers_pid"}, {"a", "address-monitoring"}, {"b", "bfd_pid"},
	{"x", "snmp"}, {"A", "snmp-agent-socket"}, {"s", "namespace"}, {"m", "core-dump"},
	{"M", "core-dump-pattern"}, {"e", "all-config"}, {"i", "config-id"}, {"", "signum"},
	{"t", "config-test"}, {"v", "version"}, {"h", "help"},
}

// TestKeepalivedHelpMatches reads the installed keepalived's --help and
// checks that keepalivedOptions lists exactly its options.
func TestKeepalivedHelpMatches(t *testing.T) {
	bin := testenv.NeedTool(t, "keepalived")
	out, _ := exec.Command(bin, "--help").CombinedOutput()
	re := regexp.MustCompile(`(?m)^\s+(?:-(\w), )?--([\w-]+)`)
	var got [][2]string
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		got = append(got, [2]string{m[1], m[2]})
	}
	if !slices.Equal(got, keepalivedOptions) {
		t.Errorf("keepalived --help lists\n%v\nwant\n%v", got, keepalivedOptions)
	}
}

// TestEveryKeepalivedOption: every option of keepalived's --help is
// accepted, with its effect on the options shown, or refused with a
// message naming it; --help lists each.
func TestEveryKeepalivedOption(t *testing.T) {
	var help bytes.Buffer
	if code := run([]string{"--help"}, &help, os.Stderr); code != exitOK {
		t.Fatalf("--help exits %d", code)
	}
	def, _ := parseArgs(nil)
	// accepted: the argument, if any, and a check of the effect.
	accepted := map[string]struct {
		arg  string
		want func(o *options) bool
	}{
		"use-file":          {"/x.conf", func(o *options) bool { return o.File == "/x.conf" }},
		"vrrp":              {"", func(o *options) bool { return o.Mode == ModeVRRP }},
		"check":             {"", func(o *options) bool { return o.Mode == ModeCheck }},
		"no_bfd":            {"", func(o *options) bool { return *o == *def }},
		"all":               {"", func(o *options) bool { return *o == *def }},
		"log-console":       {"", func(o *options) bool { return o.Console }},
		"log-detail":        {"", func(o *options) bool { return o.Level == slog.LevelDebug }},
		"log-facility":      {"local3", func(o *options) bool { return o.Facility == "local3" }},
		"no-syslog":         {"", func(o *options) bool { return o.NoSyslog }},
		"umask":             {"022", func(o *options) bool { return o.Umask == 0o22 }},
		"dont-release-ipvs": {"", func(o *options) bool { return o.KeepIPVS }},
		"dont-respawn":      {"", func(o *options) bool { return *o == *def }},
		"dont-fork":         {"", func(o *options) bool { return *o == *def }},
		"dump-conf":         {"", func(o *options) bool { return o.DumpConf }},
		"pid":               {"/p", func(o *options) bool { return o.PidFile == "/p" }},
		"vrrp_pid":          {"/r", func(o *options) bool { return o.VRRPPidFile == "/r" }},
		"checkers_pid":      {"/c", func(o *options) bool { return o.CheckPidFile == "/c" }},
		"bfd_pid":           {"/b", func(o *options) bool { return *o == *def }},
		"core-dump":         {"", func(o *options) bool { return o.CoreDump }},
		"config-id":         {"lb1", func(o *options) bool { return o.ConfigID == "lb1" && o.configID() == "lb1" }},
		"signum":            {"JSON", func(o *options) bool { return o.Signum == "JSON" }},
		"config-test":       {"", func(o *options) bool { return o.Test && o.TestLog == "" }},
		"version":           {"", func(o *options) bool { return o.Version }},
		"help":              {"", func(o *options) bool { return o.Help }},
	}
	for _, ko := range keepalivedOptions {
		short, long := ko[0], ko[1]
		if !strings.Contains(help.String(), "--"+long) || (short != "" && !strings.Contains(help.String(), "-"+short+", --"+long)) {
			t.Errorf("--help does not list -%s --%s", short, long)
		}
		opt, err := lookupLong(long)
		if err != nil || opt.long != long {
			t.Errorf("--%s: %v", long, err)
			continue
		}
		var forms [][]string
		a, ok := accepted[long]
		switch {
		case opt.kind == optFlag:
			forms = append(forms, []string{"--" + long})
			if short != "" {
				forms = append(forms, []string{"-" + short})
			}
		case opt.kind == optOptional:
			forms = append(forms, []string{"--" + long})
			if short != "" {
				forms = append(forms, []string{"-" + short})
			}
		default:
			arg := cmpOr(a.arg, "x")
			forms = append(forms, []string{"--" + long + "=" + arg}, []string{"--" + long, arg})
			if short != "" {
				forms = append(forms, []string{"-" + short, arg}, []string{"-" + short + arg})
			}
		}
		for _, args := range forms {
			o, err := parseArgs(args)
			switch {
			case ok && err != nil:
				t.Errorf("%q: %v", args, err)
			case ok && !a.want(o):
				t.Errorf("%q: no effect: %+v", args, o)
			case !ok && err == nil:
				t.Errorf("%q accepted; it has no test", args)
			case !ok && (!strings.Contains(err.Error(), "--"+long) || !strings.Contains(err.Error(), "not supported")):
				t.Errorf("%q refused without naming it: %v", args, err)
			}
		}
		if !ok {
			var stderr bytes.Buffer
			if code := run([]string{"--" + long}, os.Stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "--"+long) {
				t.Errorf("run --%s: %d %q", long, code, stderr.String())
			}
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestParseArgsGetopt(t *testing.T) {
	o, err := parseArgs([]string{"-nlDf", "/a.conf", "--dont-f", "-t/tmp/log", "-json", "-log-level", "warn"})
	if err != nil {
		t.Fatal(err)
	}
	if o.File != "/a.conf" || !o.Console || o.Level != slog.LevelWarn || !o.Test || o.TestLog != "/tmp/log" || !o.JSON {
		t.Errorf("%+v", o)
	}
	for _, bad := range [][]string{{"-q"}, {"--nope"}, {"--d"}, {"-f"}, {"--pid"}, {"extra"}, {"-P", "-C"}, {"--help=x"}, {"-u", "999"}, {"-S", "local9"}, {"--log-level", "loud"}} {
		if _, err := parseArgs(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestVersionSignum(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"-v"}, 0, "keepalived 2.2.7"},
		{[]string{"--version"}, 0, "keepalived 2.2.7"},
		{[]string{"-h"}, 0, "--use-file=FILE"},
		{[]string{"--signum=JSON"}, 0, "36\n"},
		{[]string{"--signum=DATA"}, 0, "10\n"},
		{[]string{"--signum=STATS"}, 0, "12\n"},
		{[]string{"--signum=RELOAD"}, 0, "1\n"},
		{[]string{"--signum=STOP"}, 0, "15\n"},
		{[]string{"--signum=STATS_CLEAR"}, 0, "63\n"},
		{[]string{"--signum", "TDATA"}, 1, ""},
	} {
		var out bytes.Buffer
		if code := run(tc.args, &out, &bytes.Buffer{}); code != tc.code || !strings.Contains(out.String(), tc.out) {
			t.Errorf("%q: %d %q", tc.args, code, out.String())
		}
	}
}

// TestSignumMatchesKeepalived asks the installed keepalived for each name.
func TestSignumMatchesKeepalived(t *testing.T) {
	bin := testenv.NeedTool(t, "keepalived")
	for name, n := range signums {
		out, err := exec.Command(bin, "--signum="+name).Output()
		if err != nil || strings.TrimSpace(string(out)) != itoa(n) {
			t.Errorf("keepalived --signum=%s: %q %v; lvsrouter %d", name, out, err, n)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestModeRestrict(t *testing.T) {
	plan, _, err := load("testdata/features.conf", anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Instances) == 0 || len(plan.Services) == 0 {
		t.Fatal("features.conf should have both")
	}
	if p := ModeVRRP.restrict(plan); len(p.Services) != 0 || len(p.Instances) != len(plan.Instances) {
		t.Errorf("-P keeps %d services", len(p.Services))
	}
	if p := ModeCheck.restrict(plan); len(p.Instances) != 0 || len(p.SyncGroups) != 0 || len(p.Services) != len(plan.Services) {
		t.Errorf("-C keeps %d instances", len(p.Instances))
	}
	// -P needs no IPVS: a router given the restricted plan never dials.
	r := newRouter(slog.New(slog.DiscardHandler))
	r.plan = ModeVRRP.restrict(plan)
	if got := r.desired(); len(got) != 0 {
		t.Errorf("-P wants %d IPVS services", len(got))
	}
}

func TestPidFiles(t *testing.T) {
	o, _ := parseArgs(nil)
	if got := o.pidFiles(); !slices.Equal(got, []string{defaultPidFile, defaultVRRPPidFile, defaultCheckPidFile}) {
		t.Errorf("defaults %v", got)
	}
	o, _ = parseArgs([]string{"-P"})
	if got := o.pidFiles(); !slices.Equal(got, []string{defaultPidFile, defaultVRRPPidFile}) {
		t.Errorf("-P %v", got)
	}
	dir := t.TempDir()
	o, _ = parseArgs([]string{"-C", "-p", filepath.Join(dir, "k.pid"), "-c", filepath.Join(dir, "c.pid")})
	cleanup, err := writePidFiles(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"k.pid", "c.pid"} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || strings.TrimSpace(string(b)) != itoa(os.Getpid()) {
			t.Errorf("%s: %q %v", f, b, err)
		}
	}
	cleanup()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left %v", ents)
	}
}

func TestConfigTestLogFile(t *testing.T) {
	log := filepath.Join(t.TempDir(), "t.log")
	if code := run([]string{"--config-test=" + log, "-f", "testdata/appendixa_fixed.conf"}, &bytes.Buffer{}, &bytes.Buffer{}); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if b, _ := os.ReadFile(log); !strings.Contains(string(b), "OK") {
		t.Errorf("log %q", b)
	}
}

// TestShortHostname: the default config id is the host name up to its
// first dot, as keepalived's.
func TestShortHostname(t *testing.T) {
	for in, want := range map[string]string{"lb1.example.com": "lb1", "lb1": "lb1", "": "", "lb1.": "lb1", ".x": ""} {
		if got := shortHostname(in); got != want {
			t.Errorf("shortHostname(%q) = %q, want %q", in, got, want)
		}
	}
}
