package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// flagOnly are the long options that take no argument and have no short
// form.
var flagOnly = []string{"stats", "rate", "thresholds", "persistent-conn", "tun-info", "nosort",
	"timeout", "daemon", "tun-nocsum", "tun-csum", "tun-remcsum", "set"}

// TestHelpExplainsEveryOption: -h prints to stdout and exits 0, and names
// every option the parser knows; every option it names is one the parser
// knows.
func TestHelpExplainsEveryOption(t *testing.T) {
	var out, errb bytes.Buffer
	if code := cli(context.Background(), []string{"-h"}, strings.NewReader(""), &out, &errb); code != 0 || errb.Len() != 0 {
		t.Fatalf("-h: exit %d, stderr %q", code, errb.String())
	}
	help := out.String()
	var names []string
	for _, n := range shortLong {
		names = append(names, n)
	}
	for n := range longArg {
		names = append(names, n)
	}
	names = append(names, flagOnly...)
	for _, n := range names {
		if !strings.Contains(help, "--"+n) {
			t.Errorf("help does not explain --%s", n)
		}
	}
	for _, w := range strings.Fields(help) {
		w = strings.TrimRight(strings.SplitN(w, "|", 2)[0], ",.:;)")
		if !strings.HasPrefix(w, "--") || len(w) < 4 {
			continue
		}
		_, err := parseArgs([]string{w, "x"})
		var unknown *unknownOptionError
		if errors.As(err, &unknown) {
			t.Errorf("help names %s, which the parser does not know", w)
		}
	}
	if !strings.Contains(help, "255") {
		t.Error("help does not give the exit statuses")
	}
}

// TestErrorStatuses pins the statuses and texts that need no kernel.
func TestErrorStatuses(t *testing.T) {
	for _, tt := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"-Q"}, 255, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n"},
		{[]string{"-s", "rr"}, 255, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n"},
		{[]string{"-A"}, 2, "You need to supply the 'service-address' option for the 'add-service' command\n"},
		{[]string{"-a", "-t", "10.0.0.1:80"}, 2, "You need to supply the 'real-server' option for the 'add-server' command\n"},
		{[]string{"-A", "-t", "10.0.0.1"}, 2, "Zero port specified for non-persistent service\n"},
		{[]string{"-A", "-t", "foo:80"}, 2, "illegal virtual server address[:port] specified\n"},
		{[]string{"-C", "-n"}, 2, "Illegal 'numeric' option with the 'flush' command\n"},
		{[]string{"-A", "-t", "10.0.0.1:80", "-t", "10.0.0.2:80"}, 2, "multiple 'service-address' options specified\n"},
		{[]string{"-A", "-t", "10.0.0.1:80", "-A"}, 2, "invalid option `-A'\n"},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "10.1.0.8", "-w"}, 255, "-w: missing argument\n"},
		{[]string{"--set", "1", "2"}, 2, "--set option requires 3 timeout values\n"},
	} {
		var out, errb bytes.Buffer
		code := cli(context.Background(), tt.args, strings.NewReader(""), &out, &errb)
		if code != tt.code || errb.String() != tt.stderr {
			t.Errorf("ipvsadm %s: exit %d, stderr %q; want %d, %q", strings.Join(tt.args, " "), code, errb.String(), tt.code, tt.stderr)
		}
	}
}
