//go:build vm

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os/exec"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
)

// theirs runs the real ipvsadm 1.31.
func theirs(args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := exec.Command("ipvsadm", args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%v: %s", err, strings.TrimSpace(errb.String()))
	}
	return out.String(), err
}

// ours runs this program's main logic in-process.
func ours(args ...string) (string, error) {
	var out bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(""), &out, io.Discard)
	return out.String(), err
}

// result is what a run of either tool shows a user.
type result struct {
	stdout, stderr string
	code           int
}

// theirsCLI runs the real ipvsadm with stdin.
func theirsCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command("ipvsadm", args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &out, &errb
	code := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("ipvsadm %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return result{out.String(), errb.String(), code}
}

// oursCLI runs this program's command line in-process, as main does.
func oursCLI(stdin string, args ...string) result {
	var out, errb bytes.Buffer
	code := cli(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return result{out.String(), errb.String(), code}
}

func flush(t *testing.T) {
	t.Helper()
	if _, err := theirs("-C"); err != nil {
		t.Fatal(err)
	}
}

func mustTheirs(t *testing.T, args ...string) string {
	t.Helper()
	out, err := theirs(args...)
	if err != nil {
		t.Fatalf("ipvsadm %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// listings are the outputs that must be byte-identical.
var listings = [][]string{
	{"-L", "-n"},
	{"-Ln", "--stats"},
	{"-Ln", "--stats", "--exact"},
	{"-Ln", "--rate"},
	{"-Ln", "--rate", "--exact"},
	{"-Ln", "--thresholds"},
	{"-Ln", "--persistent-conn"},
	{"-Ln", "--tun-info"},
	{"-Ln", "--nosort"},
	{"-S", "-n"},
}

// compareListings fails on the first listing where the outputs differ.
func compareListings(t *testing.T, step string) {
	t.Helper()
	compareSome(t, step, listings)
}

func compareSome(t *testing.T, step string, listings [][]string) {
	t.Helper()
	for _, args := range listings {
		want := mustTheirs(t, args...)
		got, err := ours(args...)
		if err != nil {
			t.Fatalf("%s: ours %s: %v", step, strings.Join(args, " "), err)
		}
		if got != want {
			t.Fatalf("%s: %s differs:\n--- ours\n%s--- ipvsadm\n%s", step, strings.Join(args, " "), got, want)
		}
	}
}

// richCommands builds a state with every field ipvsadm can set.
var richCommands = [][]string{
	{"-A", "-t", "10.0.0.1:80", "-s", "wlc"},
	{"-a", "-t", "10.0.0.1:80", "-r", "10.1.0.2:8080", "-m", "-w", "1", "-x", "100", "-y", "50"},
	{"-a", "-t", "10.0.0.1:80", "-r", "10.1.0.1", "-g", "-w", "0"},
	{"-a", "-t", "10.0.0.1:80", "-r", "10.1.0.3", "-i", "-w", "2", "--tun-type", "gue", "--tun-port", "6080", "--tun-csum"},
	{"-a", "-t", "10.0.0.1:80", "-r", "10.1.0.4", "-i", "-w", "3", "--tun-type", "gre", "--tun-csum"},
	{"-a", "-t", "10.0.0.1:80", "-r", "10.1.0.6", "-i", "-w", "3", "--tun-type", "gue", "--tun-port", "7000", "--tun-remcsum"},
	{"-a", "-t", "10.0.0.1:80", "-r", "10.1.0.5", "-i", "-w", "4", "--tun-type", "gue", "--tun-port", "5555", "--tun-nocsum"},
	{"-a", "-t", "10.0.0.1:80", "-r", "[2001:db8::5]:80", "-i", "-w", "5"},
	{"-A", "-t", "200.0.0.1:443", "-s", "sh", "-b", "sh-fallback,sh-port", "-p", "300", "-M", "255.255.255.0"},
	{"-a", "-t", "200.0.0.1:443", "-r", "10.2.0.1", "-g"},
	{"-A", "-u", "10.0.0.1:5060", "-s", "rr", "-p", "60", "--pe", "sip", "-o"},
	{"-A", "--sctp-service", "10.0.0.2:9", "-s", "mh", "-b", "mh-port"},
	{"-A", "-t", "[2001:db8::1]:80", "-s", "lc", "-p", "-M", "64"},
	{"-a", "-t", "[2001:db8::1]:80", "-r", "2001:db8::10", "-g"},
	{"-a", "-t", "[2001:db8::1]:80", "-r", "[2001:db8::9]:8080", "-m", "-w", "2", "-x", "7"},
	{"-A", "-f", "5", "-s", "rr", "-b", "flag-3"},
	{"-a", "-f", "5", "-r", "10.1.0.9", "-g"},
	{"-A", "-f", "5", "-6", "-s", "wrr"},
	{"-a", "-f", "5", "-6", "-r", "2001:db8::7", "-g", "-w", "9"},
	{"-A", "-u", "10.0.0.3:53", "-s", "nq", "-o"},
}

func TestVMCLIListingsMatchIpvsadm(t *testing.T) {
	testenv.NeedVM(t)
	flush(t)
	t.Cleanup(func() { theirs("-C") })
	for _, c := range richCommands {
		mustTheirs(t, c...)
	}
	compareListings(t, "rich state")
	for _, args := range [][]string{
		{"-L", "-n", "-t", "10.0.0.1:80"},
		{"-L", "-n", "-f", "5", "-6"},
		{"-L", "-n", "--stats", "-u", "10.0.0.1:5060"},
		{"-L", "--timeout"},
		{"-L", "-n", "-c"},
		{"-L", "-n", "-c", "--persistent-conn"},
	} {
		want := mustTheirs(t, args...)
		if got, err := ours(args...); err != nil || got != want {
			t.Errorf("%s: ours %q, %v; ipvsadm %q", strings.Join(args, " "), got, err, want)
		}
	}
	// The save output restores to the same state with either tool.
	saved := mustTheirs(t, "-S", "-n")
	flush(t)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-R"}, strings.NewReader(saved), &out, io.Discard); err != nil {
		t.Fatalf("ours -R: %v", err)
	}
	if got := mustTheirs(t, "-S", "-n"); got != saved {
		t.Errorf("after ours -R:\n%s\nwant\n%s", got, saved)
	}
	// Edit, zero and delete through ours, check with theirs.
	for _, c := range [][]string{
		{"-E", "-t", "10.0.0.1:80", "-s", "rr"},
		{"-e", "-t", "10.0.0.1:80", "-r", "10.1.0.2:8080", "-m", "-w", "7"},
		{"-d", "-t", "10.0.0.1:80", "-r", "10.1.0.1"},
		{"-D", "-f", "5", "-6"},
		{"-Z"},
		{"-Z", "-t", "10.0.0.1:80"},
		{"--set", "1000", "130", "310"},
	} {
		if _, err := ours(c...); err != nil {
			t.Fatalf("ours %s: %v", strings.Join(c, " "), err)
		}
	}
	compareListings(t, "after edits")
	if got := mustTheirs(t, "-L", "--timeout"); got != "Timeout (tcp tcpfin udp): 1000 130 310\n" {
		t.Errorf("timeouts: %q", got)
	}
	mustTheirs(t, "--set", "900", "120", "300")
}

func TestVMCLIDaemon(t *testing.T) {
	testenv.NeedVM(t)
	if out, err := exec.Command("ip", "link", "add", "clisync0", "type", "dummy").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", "clisync0").Run() })
	if out, err := exec.Command("ip", "link", "set", "clisync0", "up", "multicast", "on").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if _, err := ours("--start-daemon", "master", "--mcast-interface", "clisync0", "--syncid", "4"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { theirs("--stop-daemon", "master") })
	mustTheirs(t, "--start-daemon", "backup", "--mcast-interface", "clisync0", "--syncid", "5", "--mcast-group", "239.0.0.9", "--mcast-port", "9100", "--mcast-ttl", "2")
	t.Cleanup(func() { theirs("--stop-daemon", "backup") })
	want := mustTheirs(t, "-L", "--daemon")
	if got, err := ours("-L", "--daemon"); err != nil || got != want {
		t.Errorf("--daemon: ours %q, %v; ipvsadm %q", got, err, want)
	}
	if _, err := ours("--stop-daemon", "backup"); err != nil {
		t.Fatal(err)
	}
	if got := mustTheirs(t, "-L", "--daemon"); strings.Contains(got, "backup") {
		t.Errorf("backup still running: %q", got)
	}
}

// randomCommand returns a random ipvsadm service or server command over a
// small pool of services and servers, so that commands often collide.
func randomCommand(rng *rand.Rand) []string {
	type svc struct {
		args []string
		v6   bool
		fwm  bool
	}
	svcs := []svc{
		{[]string{"-t", "10.0.0.1:80"}, false, false},
		{[]string{"-t", "200.0.0.2:80"}, false, false},
		{[]string{"-u", "10.0.0.1:53"}, false, false},
		{[]string{"--sctp-service", "10.0.0.3:9"}, false, false},
		{[]string{"-t", "[2001:db8::1]:443"}, true, false},
		{[]string{"-f", "3"}, false, true},
		{[]string{"-f", "4", "-6"}, true, true},
	}
	s := svcs[rng.Intn(len(svcs))]
	pick := func(xs ...string) string { return xs[rng.Intn(len(xs))] }
	switch rng.Intn(10) {
	case 0, 1: // add or edit service
		cmd := append([]string{pick("-A", "-E")}, s.args...)
		sched := pick("rr", "wrr", "lc", "wlc", "sh", "mh", "dh", "sed", "nq", "lblc", "lblcr", "fo", "ovf")
		cmd = append(cmd, "-s", sched)
		if rng.Intn(2) == 0 {
			cmd = append(cmd, "-p", fmt.Sprint(1+rng.Intn(999)))
			if rng.Intn(2) == 0 {
				if s.v6 {
					cmd = append(cmd, "-M", pick("64", "96", "128"))
				} else {
					cmd = append(cmd, "-M", pick("255.255.255.0", "255.255.0.0", "255.255.255.255"))
				}
			}
		}
		if rng.Intn(3) == 0 {
			cmd = append(cmd, "-o")
		}
		if (sched == "sh" || sched == "mh") && rng.Intn(2) == 0 {
			cmd = append(cmd, "-b", pick(sched+"-fallback", sched+"-port", sched+"-fallback,"+sched+"-port"))
		}
		return cmd
	case 2:
		return append([]string{"-D"}, s.args...)
	default: // server commands
		cmd := append([]string{pick("-a", "-a", "-e", "-d")}, s.args...)
		var rs string
		if s.v6 {
			rs = pick("2001:db8::10", "[2001:db8::11]:8080", "[2001:db8::12]:80", "[2001:db8::13]")
		} else {
			rs = pick("10.1.0.1", "10.1.0.2:8080", "10.1.0.3:80", "172.16.0.1:443", "192.168.9.9")
		}
		cmd = append(cmd, "-r", rs)
		if cmd[0] == "-d" {
			return cmd
		}
		switch rng.Intn(4) {
		case 0:
			cmd = append(cmd, "-m")
		case 1:
			cmd = append(cmd, "-i")
			switch rng.Intn(3) {
			case 1:
				cmd = append(cmd, "--tun-type", "gue", "--tun-port", fmt.Sprint(1000+rng.Intn(9000)), pick("--tun-nocsum", "--tun-csum", "--tun-remcsum"))
			case 2:
				cmd = append(cmd, "--tun-type", "gre", pick("--tun-nocsum", "--tun-csum", "--tun-remcsum"))
			}
		default:
			cmd = append(cmd, "-g")
		}
		cmd = append(cmd, "-w", fmt.Sprint(rng.Intn(6)))
		if rng.Intn(4) == 0 {
			x := rng.Intn(100)
			cmd = append(cmd, "-x", fmt.Sprint(x+10), "-y", fmt.Sprint(x))
		}
		return cmd
	}
}

// TestVMCLIRandomSequences applies random command sequences with the real
// ipvsadm and checks that every listing of ours equals ipvsadm's after each
// step; then it replays the sequence with ours and checks, with ipvsadm,
// that each step leaves the same state (and succeeds or fails alike).
func TestVMCLIRandomSequences(t *testing.T) {
	testenv.NeedVM(t)
	flush(t)
	t.Cleanup(func() { theirs("-C") })
	rng := rand.New(rand.NewSource(20261125))
	const steps = 40
	cmds := make([][]string, steps)
	results := make([]result, steps)
	saves := make([]string, steps)
	for i := range cmds {
		cmds[i] = randomCommand(rng)
		results[i] = theirsCLI(t, "", cmds[i]...)
		step := fmt.Sprintf("step %d (ipvsadm %s)", i, strings.Join(cmds[i], " "))
		if i%10 == 9 {
			compareListings(t, step)
		} else {
			compareSome(t, step, [][]string{{"-L", "-n"}, {"-Ln", "--tun-info"}})
		}
		saves[i] = mustTheirs(t, "-S", "-n")
	}
	flush(t)
	failed := 0
	for i, c := range cmds {
		// The same exit status and the same error text as ipvsadm.
		got := oursCLI("", c...)
		if got != results[i] {
			t.Fatalf("step %d: %s: ours %+v, ipvsadm %+v", i, strings.Join(c, " "), got, results[i])
		}
		if got.code != 0 {
			failed++
		}
		if got := mustTheirs(t, "-S", "-n"); got != saves[i] {
			t.Fatalf("step %d: after ours %s, ipvsadm -S -n shows\n%s\nwant\n%s", i, strings.Join(c, " "), got, saves[i])
		}
	}
	if failed == 0 {
		t.Error("no step failed: the sequence compares no error texts")
	}
	t.Logf("%d of %d steps failed alike (text and status)", failed, steps)
}

// errorCases are command lines ipvsadm refuses, in order over one state,
// with -R input after a "<" argument: each shows an error text and status.
var errorCases = [][]string{
	{"-a", "-t", "10.0.0.1:80", "-r", "10.1.0.1"},
	{"-A", "-t", "10.0.0.1:80"},
	{"-A", "-t", "10.0.0.1:80"},
	{"-a", "-t", "10.0.0.1:80", "-r", "10.1.0.1"},
	{"-a", "-t", "10.0.0.1:80", "-r", "10.1.0.1"},
	{"-e", "-t", "10.0.0.1:80", "-r", "10.1.0.9"},
	{"-d", "-t", "10.0.0.1:80", "-r", "10.1.0.9"},
	{"-e", "-t", "10.0.0.9:80", "-r", "10.1.0.9"},
	{"-d", "-t", "10.0.0.9:80", "-r", "10.1.0.9"},
	{"-E", "-t", "10.0.0.9:80"},
	{"-D", "-t", "10.0.0.9:80"},
	{"-Z", "-t", "10.0.0.9:80"},
	{"-L", "-n", "-t", "10.0.0.9:80"},
	{"-A", "-t", "10.0.0.2:80", "-s", "bogus"},
	{"-E", "-t", "10.0.0.1:80", "-s", "bogus"},
	{"-A", "-t", "10.0.0.3:80", "--pe", "bogus"},
	{"-a", "-t", "10.0.0.1:80"},
	{"-A"},
	{"-Q"},
	{"--bogus"},
	{"-A", "-t", "10.0.0.1"},
	{"-a", "-t", "10.0.0.1:80", "-r", "10.1.0.2", "-x", "5", "-y", "9"},
	{"-a", "-t", "10.0.0.1:80", "-r", "224.0.0.5"},
	{"--stop-daemon", "master"},
	{"-a", "-t", "[2001:db8::1]:80", "-r", "10.1.0.1"},
	{"-A", "-f", "0"},
	{"-A", "-t", "10.0.0.5:80", "-b", "bogus"},
	{"-C", "-n"},
	{"-a", "-t", "10.0.0.1:80", "-r", "10.1.0.3", "-m", "-g"},
	{"--set", "1", "2"},
	{"-A", "-t", "10.0.0.1:80", "-t", "10.0.0.2:80"},
	{"-a", "-f", "99", "-r", "10.1.0.1"},
	{"-D", "-f", "99"},
	{"-a", "-t", "10.0.0.1:80", "-r", "10.1.0.7", "-i", "--tun-type", "gue"},
	{"-A", "-t", "10.0.0.30:80", "-A"},
	{"-s", "rr"},
	{"-a", "-t", "10.0.0.1:80", "-r", "10.1.0.8", "-w"},
	{"-R", "<-A -t 10.0.0.1:80\n-A -t 10.0.0.7:80\n"},
	{"-R", "<-a -t 10.0.0.9:80 -r 10.1.0.1\n-A -t 10.0.0.8:80\n"},
	{"-R", "<-A -t 10.0.0.10:80 -Q\n-A -t 10.0.0.11:80\n"},
	{"-R", "<-A -t 10.0.0.12\n-A -t 10.0.0.13:80\n"},
}

// TestVMCLIErrorsMatchIpvsadm runs errorCases with the real ipvsadm, then
// with ours from the same empty state: every step must print the same
// text on stdout and stderr and exit with the same status, and leave the
// same state.
func TestVMCLIErrorsMatchIpvsadm(t *testing.T) {
	testenv.NeedVM(t)
	split := func(c []string) (string, []string) {
		if len(c) == 2 && strings.HasPrefix(c[1], "<") {
			return c[1][1:], c[:1]
		}
		return "", c
	}
	flush(t)
	t.Cleanup(func() { theirs("-C") })
	want := make([]result, len(errorCases))
	saves := make([]string, len(errorCases))
	for i, c := range errorCases {
		in, args := split(c)
		want[i] = theirsCLI(t, in, args...)
		saves[i] = mustTheirs(t, "-S", "-n")
	}
	flush(t)
	for i, c := range errorCases {
		in, args := split(c)
		if got := oursCLI(in, args...); got != want[i] {
			t.Errorf("ipvsadm %s:\n ours    %+v\n ipvsadm %+v", strings.Join(c, " "), got, want[i])
		}
		if got := mustTheirs(t, "-S", "-n"); got != saves[i] {
			t.Fatalf("after ours %s, ipvsadm -S -n shows\n%s\nwant\n%s", strings.Join(c, " "), got, saves[i])
		}
	}
}

// TestVMCLIOptionTableMatchesIpvsadm gives every command each option in
// turn, from the same state, to the real ipvsadm and to ours: the output,
// the error text and the exit status must be the same (ipvsadm refuses an
// option that does not belong to the command rather than ignoring it).
func TestVMCLIOptionTableMatchesIpvsadm(t *testing.T) {
	testenv.NeedVM(t)
	t.Cleanup(func() { theirs("-C") })
	reset := func() {
		t.Helper()
		flush(t)
		mustTheirs(t, "-A", "-t", "10.0.0.1:80")
		mustTheirs(t, "-a", "-t", "10.0.0.1:80", "-r", "10.1.0.1")
	}
	cmds := []struct {
		name string
		args []string
	}{
		{"A", []string{"-A", "-t", "10.0.0.2:80"}}, {"E", []string{"-E", "-t", "10.0.0.1:80"}},
		{"D", []string{"-D", "-t", "10.0.0.1:80"}}, {"C", []string{"-C"}}, {"R", []string{"-R"}},
		{"S", []string{"-S"}}, {"a", []string{"-a", "-t", "10.0.0.1:80", "-r", "10.1.0.2"}},
		{"e", []string{"-e", "-t", "10.0.0.1:80", "-r", "10.1.0.1"}},
		{"d", []string{"-d", "-t", "10.0.0.1:80", "-r", "10.1.0.1"}}, {"L", []string{"-L"}}, {"Z", []string{"-Z"}},
	}
	opts := [][]string{
		{"-t", "10.0.0.1:80"}, {"-s", "rr"}, {"-p", "60"}, {"-M", "255.255.255.0"}, {"-r", "10.1.0.3"},
		{"-m"}, {"-w", "2"}, {"-x", "9"}, {"-y", "3"}, {"-n"}, {"-c"}, {"-o"}, {"--pe", "sip"},
		{"-b", "flag-1"}, {"--stats"}, {"--rate"}, {"--exact"}, {"--nosort"}, {"--timeout"},
		{"--daemon"}, {"--thresholds"}, {"--persistent-conn"}, {"--tun-info"},
		{"--mcast-interface", "lo"}, {"--syncid", "3"},
	}
	refused := 0
	for _, c := range cmds {
		for _, o := range opts {
			if o[0] == "-t" && len(c.args) > 1 {
				continue // the command names its service already
			}
			args := append(append([]string{}, c.args...), o...)
			reset()
			want := theirsCLI(t, "", args...)
			reset()
			got := oursCLI("", args...)
			if (c.name == "L" || c.name == "S") && want.code == 0 {
				// Without -n ipvsadm names ports ("http"); ours is
				// always numeric, so only the outcome is compared.
				got.stdout, want.stdout = "", ""
			}
			if got != want {
				t.Errorf("ipvsadm %s:\n ours    %+v\n ipvsadm %+v", strings.Join(args, " "), got, want)
			}
			if want.code == 2 {
				refused++
			}
		}
	}
	t.Logf("%d combinations refused alike", refused)
}
