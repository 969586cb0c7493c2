//go:build netns

package main

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/sched"
)

// fastArgs are the flags of a single test node: VRRPv3 at 100 ms so that
// it holds the VIP quickly, and the given server flags.
func fastArgs(dir string, servers ...string) []string {
	args := []string{"-dir", dir, "-interface", "eth0", "-vrid", "52", "-priority", "101",
		"-vrrp-version", "3", "-advert", "100ms", "-track-interval", "200ms",
		"-vip", vip.String(), "-http", "*:80", "-nbthread", "1", "-log", ""}
	return append(args, servers...)
}

func waitUp(t *testing.T, n *pairNode, names ...string) {
	t.Helper()
	if !waitFor(20*time.Second, func() bool {
		st := n.serverStatus()
		for _, name := range names {
			if st[name] != "UP" {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("servers not UP: %v", n.serverStatus())
	}
}

// TestBalancing sends requests from the client through the VIP and checks,
// request by request, that the server HAProxy chose is the one sched's
// HAProxy model predicts, for roundrobin, static-rr, leastconn, source and
// uri, with unequal weights.
func TestBalancing(t *testing.T) {
	l := newLAN(t)
	c := &client{ns: l.cli}
	weights := []int{1, 2, 3}
	var servers []string
	var model []sched.Server
	for i, n := range webNames {
		servers = append(servers, "-server", fmt.Sprintf("%s=%s:8080@%d", n, webAddrs[i], weights[i]))
		model = append(model, sched.Server{Name: n, Weight: weights[i]})
	}
	cases := []struct {
		balance string
		n       int
		req     func(i int) (netip.Addr, string)
		hold    bool
	}{
		{balance: "roundrobin", n: 30, req: func(i int) (netip.Addr, string) { return clientSrc(0), "/" }},
		{balance: "static-rr", n: 30, req: func(i int) (netip.Addr, string) { return clientSrc(0), "/" }},
		{balance: "source", n: 40, req: func(i int) (netip.Addr, string) { return clientSrc(i), "/" }},
		{balance: "uri", n: 40, req: func(i int) (netip.Addr, string) {
			return clientSrc(0), fmt.Sprintf("/dir%d/obj%d.html?x=%d", i%7, i, i*3)
		}},
		{balance: "leastconn", n: 12, hold: true},
	}
	for ci, tc := range cases {
		t.Run(tc.balance, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "lb")
			n := startNode(t, l.lb1, "lb1-"+tc.balance, append(fastArgs(dir, servers...), "-balance", tc.balance))
			defer n.stop(t, syscall.SIGINT)
			waitSole(t, 20*time.Second, l.lb1)
			waitUp(t, n, webNames...)
			b, err := sched.ParseBalance(tc.balance, "")
			if err != nil {
				t.Fatal(err)
			}
			h, err := sched.NewHAProxy(b, model, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.hold {
				// Each request stays open: leastconn sees the counts grow.
				served := map[string]int{}
				var closers []func()
				defer func() {
					for _, w := range l.web {
						close(w.release)
					}
					for _, f := range closers {
						f()
					}
				}()
				for i := range tc.n {
					want, _ := h.Pick(sched.Request{})
					got, closeFn := c.hold(t, "http://"+vip.String()+"/hold")
					closers = append(closers, closeFn)
					if got != want {
						t.Fatalf("held request %d: haproxy chose %s, sched predicted %s (served %v)", i, got, want, served)
					}
					served[got]++
					h.SetServed(got, served[got])
				}
				t.Logf("leastconn, weights %v: %d held requests as predicted, served %v", weights, tc.n, served)
				return
			}
			count := map[string]int{}
			for i := range tc.n {
				src, uri := tc.req(i)
				got, _, err := c.get(src, "http://"+vip.String()+uri, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := h.Pick(sched.Request{Src: src, URI: uri, Header: func(string) string { return "" }})
				if got != want {
					t.Fatalf("request %d (src %v uri %q): haproxy chose %s, sched predicted %s", i, src, uri, got, want)
				}
				count[got]++
			}
			t.Logf("%s, weights %v: %d requests as predicted: %v", tc.balance, weights, tc.n, count)
			_ = ci
		})
	}
}

// TestBackupRiseFall checks that a backup server takes traffic only when
// every active server is down, and that HAProxy's rise/fall/inter show in
// the order and count of its state changes (fall 3: two failing steps
// before DOWN; rise 2: one step before UP). Timings are reported.
func TestBackupRiseFall(t *testing.T) {
	l := newLAN(t)
	c := &client{ns: l.cli}
	const inter, rise, fall = 200 * time.Millisecond, 2, 3
	args := fastArgs(filepath.Join(t.TempDir(), "lb"),
		"-server", "web1="+webAddrs[0].String()+":8080", "-server", "web2="+webAddrs[1].String()+":8080",
		"-backup-server", "web3="+webAddrs[2].String()+":8080",
		"-check-inter", inter.String(), "-check-rise", strconv.Itoa(rise), "-check-fall", strconv.Itoa(fall),
		"-min-servers", "0")
	n := startNode(t, l.lb1, "lb1", args)
	defer n.stop(t, syscall.SIGINT)
	waitSole(t, 20*time.Second, l.lb1)
	waitUp(t, n, "web1", "web2", "web3")

	answers := func(k int) map[string]int {
		m := map[string]int{}
		for range k {
			got, _, err := c.get(clientSrc(0), "http://"+vip.String()+"/", 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			m[got]++
		}
		return m
	}
	if m := answers(20); m["web3"] != 0 || m["web1"] != 10 || m["web2"] != 10 {
		t.Fatalf("with both active servers up: %v, want web1 and web2 10 each, web3 none", m)
	}

	// trace polls web1's status until want shows and returns the
	// distinct statuses seen, with when each first showed.
	trace := func(from time.Time, want string) []step {
		var steps []step
		waitFor(20*time.Second, func() bool {
			st := n.serverStatus()["web1"]
			if st != "" && (len(steps) == 0 || steps[len(steps)-1].status != st) {
				steps = append(steps, step{st, time.Since(from)})
			}
			return st == want
		})
		return steps
	}
	statuses := func(s []step) []string {
		var out []string
		for _, x := range s {
			out = append(out, x.status)
		}
		return out
	}

	l.web[1].stop()
	stopped := time.Now()
	l.web[0].stop()
	down := trace(stopped, "DOWN")
	if !waitFor(10*time.Second, func() bool { return n.serverStatus()["web2"] == "DOWN" }) {
		t.Fatalf("web2 not DOWN: %v", n.serverStatus())
	}
	if m := answers(10); m["web3"] != 10 {
		t.Fatalf("with every active server down: %v, want all on backup web3", m)
	}
	l.web[0].start()
	started := time.Now()
	up := trace(started, "UP")
	if m := answers(10); m["web1"] != 10 {
		t.Fatalf("with web1 back: %v, want all on web1, none on backup web3", m)
	}

	// HAProxy shows the checks left before the change: UP 2/3, UP 1/3.
	wantDown := []string{"UP", "UP 2/3", "UP 1/3", "DOWN"}
	if got := statuses(down); !slices.Equal(got[max(len(got)-4, 0):], wantDown) {
		t.Errorf("web1 going down (fall %d): states %v, want ending %v", fall, got, wantDown)
	}
	wantUp := []string{"DOWN", "DOWN 1/2", "UP"}
	if got := statuses(up); !slices.Equal(got[max(len(got)-3, 0):], wantUp) {
		t.Errorf("web1 coming up (rise %d): states %v, want ending %v", rise, got, wantUp)
	}
	t.Logf("inter %v fall %d: web1 %s (theory: DOWN within fall × inter = %v after the last good check)",
		inter, fall, fmtSteps(down), time.Duration(fall)*inter)
	t.Logf("inter %v rise %d: web1 %s (theory: UP within rise × inter = %v after the server returns)",
		inter, rise, fmtSteps(up), time.Duration(rise)*inter)
}

// step is a server status and when it first showed.
type step struct {
	status string
	at     time.Duration
}

func fmtSteps[S ~[]E, E any](s S) string {
	var b strings.Builder
	for i, x := range s {
		if i > 0 {
			b.WriteString(" → ")
		}
		fmt.Fprintf(&b, "%v", x)
	}
	return b.String()
}

func (s step) String() string { return fmt.Sprintf("%s at %v", s.status, s.at.Round(time.Millisecond)) }
