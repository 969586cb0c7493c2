//go:build netns

package check_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/internal/netns"
)

// inNS runs a checker's sockets inside namespace n: each check runs on a
// thread switched into n, and the sockets it opens stay there.
func inNS(n *netns.NS, c check.Checker) check.Checker {
	return check.CheckerFunc(func(ctx context.Context) check.Result {
		var r check.Result
		n.Do(func() error { r = c.Check(ctx); return nil })
		return r
	})
}

// TestNetnsRealLink checks a web server across a veth pair between two
// namespaces: up while the link is up; a host that does not exist and a
// link that goes down give timeouts and down transitions, and the Monitor
// brings the target back when the link returns.
func TestNetnsRealLink(t *testing.T) {
	noLeaks(t)
	client, server := netns.New(t), netns.New(t)
	netns.Veth(t, client, "eth0", server, "eth0")
	client.AddAddr("eth0", netip.MustParsePrefix("10.77.0.1/24"))
	server.AddAddr("eth0", netip.MustParsePrefix("10.77.0.2/24"))

	var ln net.Listener
	if err := server.Do(func() (err error) { ln, err = net.Listen("tcp", "10.77.0.2:80"); return }); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	web := netip.MustParseAddrPort("10.77.0.2:80")
	ghost := netip.MustParseAddrPort("10.77.0.9:80") // on the link, but nobody there
	to := 300 * time.Millisecond
	for _, tc := range []struct {
		name   string
		c      check.Checker
		up     bool
		reason string
	}{
		{"tcp", check.TCP{Addr: web, Timeout: to}, true, ""},
		{"http digest", &check.HTTP{Addr: web, Digest: check.Digest([]byte("ok\n")), Timeout: to}, true, ""},
		{"icmp", check.ICMP{Addr: web.Addr(), Timeout: time.Second}, true, ""},
		{"tcp ghost", check.TCP{Addr: ghost, Timeout: to}, false, "connect: timeout"},
		{"http ghost", &check.HTTP{Addr: ghost, Timeout: to}, false, "connect"},
		{"icmp ghost", check.ICMP{Addr: ghost.Addr(), Timeout: to}, false, "no echo reply"},
		{"tcp closed port", check.TCP{Addr: netip.MustParseAddrPort("10.77.0.2:81"), Timeout: to}, false, "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := inNS(client, tc.c).Check(context.Background())
			if r.Up != tc.up {
				t.Fatalf("Up = %v, want %v (%+v)", r.Up, tc.up, r)
			}
			if !tc.up {
				mustContain(t, "Reason", r.Reason, tc.reason)
			}
		})
	}

	trs := make(chan check.Transition, 16)
	m := startMonitor(t, &check.MonitorConfig{Concurrency: 2, OnTransition: func(tr check.Transition) { trs <- tr }})
	t.Cleanup(func() { m.Close() })
	pol := check.HAProxy{Inter: 50 * time.Millisecond, Rise: 2, Fall: 2}
	mustAdd(t, m, check.Target{ID: "web", Checker: inNS(client, check.TCP{Addr: web, Timeout: to}), Policy: pol})

	link, err := server.Handle().LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Handle().LinkSetDown(link); err != nil {
		t.Fatal(err)
	}
	waitTransition(t, trs, "web", false)
	if err := server.Handle().LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
	waitTransition(t, trs, "web", true)
}

// TestNetnsPingSocket uses the unprivileged ping socket: refused while the
// namespace's net.ipv4.ping_group_range is the default "1 0", working once
// it admits our group.
func TestNetnsPingSocket(t *testing.T) {
	noLeaks(t)
	client, server := netns.New(t), netns.New(t)
	netns.Veth(t, client, "eth0", server, "eth0")
	client.AddAddr("eth0", netip.MustParsePrefix("10.77.0.1/24"))
	server.AddAddr("eth0", netip.MustParsePrefix("10.77.0.2/24"))
	ping := check.ICMP{Addr: netip.MustParseAddr("10.77.0.2"), Socket: "ping", Timeout: time.Second}
	setRange := func(v string) {
		t.Helper()
		err := client.Do(func() error {
			return os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte(v), 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	setRange("1 0")
	r := inNS(client, ping).Check(context.Background())
	if r.Up || !errors.Is(r.Err, check.ErrNoICMPSocket) {
		t.Fatalf("ping socket with ping_group_range 1 0: %+v", r)
	}
	setRange(fmt.Sprintf("%d %d", os.Getgid(), os.Getgid()))
	r = inNS(client, ping).Check(context.Background())
	if !r.Up {
		t.Fatalf("ping socket allowed: %+v", r)
	}
	r = inNS(client, check.ICMP{Addr: netip.MustParseAddr("10.77.0.9"), Socket: "ping", Timeout: 300 * time.Millisecond}).Check(context.Background())
	if r.Up {
		t.Fatalf("ping socket to a missing host: %+v", r)
	}
	mustContain(t, "Reason", r.Reason, "no echo reply")
}
