//go:build netns

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// disagreementsFile lists the probes on which lvsrouter -t and keepalived
// -t may disagree, one "name: reason" a line: the keywords lvsrouter
// refuses while keepalived accepts them, and what else remains.
const disagreementsFile = "testdata/kwprobe/DISAGREEMENTS"

// TestConfigTestDifferential runs every probe of testdata/kwprobe (one
// keepalived keyword each in a minimal configuration, broken variants, and
// the -t fidelity cases) through keepalived -t and lvsrouter's -t path, in
// a namespace holding the probes' interface, and expects them to agree on
// accept or reject, except for the probes DISAGREEMENTS lists (each with
// its reason); a listed probe on which they agree fails too, so the list
// stays true (-update-keywords rewrites it).
func TestConfigTestDifferential(t *testing.T) {
	testenv.NeedRoot(t)
	bin := testenv.NeedTool(t, "keepalived")
	ns, peer := netns.New(t), netns.New(t)
	netns.Veth(t, ns, probeIf, peer, "kwp1")
	ns.AddAddr(probeIf, netip.MustParsePrefix("10.0.0.8/24"))
	files, err := filepath.Glob("testdata/kwprobe/*.conf")
	if err != nil || len(files) < 150 {
		t.Fatalf("%d probes: %v", len(files), err)
	}
	sort.Strings(files)
	// The probes name these files; keepalived checks that scripts and
	// files exist.
	for _, f := range []string{"/tmp/lvsrouter-kwprobe-track", "/tmp/lvsrouter-kwprobe-track2"} {
		if err := os.WriteFile(f, []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(f) })
	}

	start := time.Now()
	kaCode := make([]int, len(files))
	kaOut := make([]string, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			dir := t.TempDir()
			cmd := ns.Command(ctx, bin, "-t", "-f", f, "-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"))
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			switch {
			case errors.As(err, &ee):
				kaCode[i] = ee.ExitCode()
			case err != nil:
				kaCode[i] = -1
			}
			kaOut[i] = string(out)
		}()
	}
	wg.Wait()
	kaTime := time.Since(start)

	start = time.Now()
	lvCode := make([]int, len(files))
	lvOut := make([]string, len(files))
	if err := ns.Do(func() error {
		for i, f := range files {
			var b bytes.Buffer
			lvCode[i] = configTest(f, true, false, io.Discard, &b)
			lvOut[i] = b.String()
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	lvTime := time.Since(start)

	listed := readDisagreements(t)
	found := map[string]string{}
	agreeAccept, agreeReject, codeDiff := 0, 0, 0
	for i, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".conf")
		ka, lv := kaCode[i] == 0, lvCode[i] == 0
		if ka == lv {
			if ka {
				agreeAccept++
			} else {
				agreeReject++
				if kaCode[i] != lvCode[i] {
					codeDiff++
					t.Logf("%s: both reject, keepalived exit %d, lvsrouter exit %d", name, kaCode[i], lvCode[i])
				}
			}
			continue
		}
		found[name] = disagreementReason(kaCode[i], lvCode[i], kaOut[i], lvOut[i])
	}
	t.Logf("%d probes: %d accepted by both, %d rejected by both (%d with another exit code), %d disagreements; keepalived -t %v in all (2 at a time), lvsrouter -t %v",
		len(files), agreeAccept, agreeReject, codeDiff, len(found), kaTime.Round(time.Millisecond), lvTime.Round(time.Millisecond))
	if *updateKeywords {
		writeDisagreements(t, found)
		return
	}
	for name, why := range found {
		if _, ok := listed[name]; !ok {
			i := sort.SearchStrings(files, filepath.Join("testdata/kwprobe", name+".conf"))
			t.Errorf("%s: %s\nkeepalived:\n%s\nlvsrouter:\n%s", name, why, kaOut[i], lvOut[i])
		}
	}
	for name := range listed {
		if _, ok := found[name]; !ok {
			t.Errorf("%s is listed in %s, but keepalived and lvsrouter agree on it now: remove it", name, disagreementsFile)
		}
	}
}

// disagreementReason says why one side accepted and the other did not.
func disagreementReason(kaCode, lvCode int, kaOut, lvOut string) string {
	if kaCode == 0 {
		for _, l := range strings.Split(lvOut, "\n") {
			if strings.Contains(l, " is not supported by lvsrouter (") {
				return "refused by lvsrouter, accepted by keepalived: " + strings.TrimSpace(lastPlace(l))
			}
		}
		return fmt.Sprintf("lvsrouter -t exits %d, keepalived -t 0: %s", lvCode, firstLine(lvOut))
	}
	return fmt.Sprintf("keepalived -t exits %d, lvsrouter -t 0: %s", kaCode, firstLine(kaOut))
}

// lastPlace returns what follows the last file:line:col of a message line.
func lastPlace(l string) string {
	if i := strings.LastIndex(l, ".conf:"); i >= 0 {
		rest := l[i+len(".conf:"):]
		// line:col:
		for n := 0; n < 2; n++ {
			if j := strings.IndexByte(rest, ':'); j >= 0 {
				rest = rest[j+1:]
			}
		}
		return rest
	}
	return l
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.Contains(l, "Starting") && !strings.Contains(l, "Running on") && !strings.Contains(l, "Command line") && !strings.Contains(l, "configuration rejected") {
			return l
		}
	}
	return ""
}

func readDisagreements(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	f, err := os.Open(disagreementsFile)
	if errors.Is(err, os.ErrNotExist) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, why, _ := strings.Cut(l, ": ")
		out[name] = why
	}
	return out
}

func writeDisagreements(t *testing.T, found map[string]string) {
	t.Helper()
	names := make([]string, 0, len(found))
	for n := range found {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# Probes of testdata/kwprobe on which lvsrouter -t and keepalived 2.2.7 -t disagree,\n")
	b.WriteString("# one \"probe: reason\" a line; TestConfigTestDifferential reads it (-update-keywords rewrites it).\n")
	for _, n := range names {
		fmt.Fprintf(&b, "%s: %s\n", n, found[n])
	}
	mustWrite(t, disagreementsFile, []byte(b.String()))
}
