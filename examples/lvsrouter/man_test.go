package main

import (
	"os"
	"strings"
	"testing"
)

// TestManPageCoversEveryFlag: lvsrouter.8 documents every option, short
// and long, and no option that does not exist.
func TestManPageCoversEveryFlag(t *testing.T) {
	b, err := os.ReadFile("lvsrouter.8")
	if err != nil {
		t.Fatal(err)
	}
	man := string(b)
	for _, o := range optionTable {
		long := `\fB\-\-` + strings.ReplaceAll(o.long, "-", `\-`) + `\fR`
		if !strings.Contains(man, long) {
			t.Errorf("lvsrouter.8 lacks --%s", o.long)
		}
		if o.short != 0 && !strings.Contains(man, `\fB\-`+string(o.short)+`\fR, `+long) {
			t.Errorf("lvsrouter.8 lacks -%c for --%s", o.short, o.long)
		}
	}
}

// TestServiceUnit: the shipped unit is Debian's keepalived.service with
// the binary changed (and a watchdog): Type=notify, and ExecStart's
// options are ones lvsrouter takes.
func TestServiceUnit(t *testing.T) {
	b, err := os.ReadFile("lvsrouter.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, want := range []string{"\nType=notify\n", "\nExecReload=/bin/kill -HUP $MAINPID\n", "\nWatchdogSec="} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	for _, line := range strings.Split(unit, "\n") {
		cmd, ok := strings.CutPrefix(line, "ExecStart=")
		if !ok {
			continue
		}
		words := strings.Fields(strings.ReplaceAll(cmd, "$DAEMON_ARGS", ""))
		if words[0] != "/usr/sbin/lvsrouter" {
			t.Errorf("ExecStart runs %s", words[0])
		}
		if _, err := parseArgs(words[1:]); err != nil {
			t.Errorf("ExecStart: %v", err)
		}
	}
}
