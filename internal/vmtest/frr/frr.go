//go:build linux

// Package frr runs FRR's zebra and bgpd in a test's network namespace, as
// the upstream router of the scale-out tests, and reads its routing table
// through vtysh. internal/vmtest carries the daemons into the guest; on a
// host with Debian's frr package the same helpers work in the netns tier.
package frr

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// Paths of Debian's frr package (the guest has them at the same paths).
const (
	Zebra = "/usr/lib/frr/zebra"
	BGPD  = "/usr/lib/frr/bgpd"
)

// Router is a zebra and a bgpd sharing one directory for their pid files,
// zserv socket and vty sockets.
type Router struct {
	Dir   string
	NS    *netns.NS
	zebra *netns.Process
	bgpd  *netns.Process
}

// Start runs zebra and bgpd in ns with bgpdConf (zebra gets an empty
// configuration) and waits, bounded, until both answer on their vty
// sockets. Both run as root (-u root -g root), so the directory needs no
// frr ownership; they log to their stdout, which Output returns.
func Start(t testing.TB, ns *netns.NS, bgpdConf string) *Router {
	t.Helper()
	zebra := testenv.NeedTool(t, Zebra)
	bgpd := testenv.NeedTool(t, BGPD)
	testenv.NeedTool(t, "vtysh")
	dir, err := os.MkdirTemp("", "lvskit-frr-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for name, conf := range map[string]string{"zebra.conf": "log stdout\n", "bgpd.conf": bgpdConf, "vtysh.conf": "username root nopassword\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	common := func(d string) []string {
		return []string{"-f", filepath.Join(dir, d+".conf"), "-i", filepath.Join(dir, d+".pid"),
			"-z", filepath.Join(dir, "zserv.api"), "--vty_socket", dir, "-u", "root", "-g", "root", "-P", "0", "--log", "stdout"}
	}
	r := &Router{Dir: dir, NS: ns}
	r.zebra = ns.Start(zebra, common("zebra")...)
	r.wait(t, "zebra", r.zebra)
	r.bgpd = ns.Start(bgpd, append(common("bgpd"), "-p", "179")...)
	r.wait(t, "bgpd", r.bgpd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("zebra:\n%s\nbgpd:\n%s", r.zebra.Output(), r.bgpd.Output())
		}
	})
	return r
}

func (r *Router) wait(t testing.TB, name string, p *netns.Process) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(r.Dir, name+".vty")); err == nil {
			return
		}
		select {
		case <-p.Done():
			t.Fatalf("%s exited:\n%s", name, p.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not open its vty within 30 s:\n%s", name, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Output returns what zebra and bgpd have logged.
func (r *Router) Output() string {
	return "zebra:\n" + r.zebra.Output() + "\nbgpd:\n" + r.bgpd.Output()
}

// VTY runs one vtysh command against the router's daemons. vtysh reads
// the router's own vtysh.conf (--config_dir), whose "username root
// nopassword" spares it PAM, which the guest does not have.
func (r *Router) VTY(ctx context.Context, cmd string) (string, error) {
	out, err := r.NS.Command(ctx, "vtysh", "--vty_socket", r.Dir, "--config_dir", r.Dir, "-c", cmd).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("vtysh -c %q: %w: %s", cmd, err, out)
	}
	return string(out), nil
}

// NextHops returns the sorted gateways of zebra's selected route for
// prefix (`show ip route PREFIX json`), or none when it has no route.
func (r *Router) NextHops(ctx context.Context, prefix netip.Prefix) ([]netip.Addr, error) {
	cmd := "show ip route " + prefix.String() + " json"
	if prefix.Addr().Is6() {
		cmd = "show ipv6 route " + prefix.String() + " json"
	}
	out, err := r.VTY(ctx, cmd)
	if err != nil {
		return nil, err
	}
	var routes map[string][]struct {
		Selected bool `json:"selected"`
		Nexthops []struct {
			IP     string `json:"ip"`
			Active bool   `json:"active"`
			FIB    bool   `json:"fib"`
		} `json:"nexthops"`
	}
	if err := json.Unmarshal([]byte(out), &routes); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", cmd, err, strings.TrimSpace(out))
	}
	var hops []netip.Addr
	for _, rt := range routes[prefix.String()] {
		if !rt.Selected {
			continue
		}
		for _, h := range rt.Nexthops {
			if !h.Active || !h.FIB {
				continue
			}
			if a, err := netip.ParseAddr(h.IP); err == nil {
				hops = append(hops, a)
			}
		}
	}
	slices.SortFunc(hops, netip.Addr.Compare)
	return hops, nil
}

// WaitNextHops polls NextHops until it equals want (in any order) or
// ctx ends; it returns the last answer and when it matched.
func (r *Router) WaitNextHops(ctx context.Context, prefix netip.Prefix, want []netip.Addr) ([]netip.Addr, time.Time, error) {
	w := slices.Clone(want)
	slices.SortFunc(w, netip.Addr.Compare)
	var last []netip.Addr
	for {
		hops, err := r.NextHops(ctx, prefix)
		if err == nil {
			last = hops
			if slices.Equal(hops, w) {
				return hops, time.Now(), nil
			}
		}
		select {
		case <-ctx.Done():
			return last, time.Time{}, fmt.Errorf("route %v: next hops %v, want %v: %w", prefix, last, w, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// UpdatesReceived returns how many UPDATE messages bgpd has received from
// neighbor (`show bgp neighbors ADDR json`): an announcement or a withdraw
// each adds one.
func (r *Router) UpdatesReceived(ctx context.Context, neighbor netip.Addr) (int, error) {
	out, err := r.VTY(ctx, "show bgp neighbors "+neighbor.String()+" json")
	if err != nil {
		return 0, err
	}
	var nb map[string]struct {
		MessageStats struct {
			UpdatesRecv int `json:"updatesRecv"`
		} `json:"messageStats"`
	}
	if err := json.Unmarshal([]byte(out), &nb); err != nil {
		return 0, fmt.Errorf("show bgp neighbors json: %w: %s", err, strings.TrimSpace(out))
	}
	n, ok := nb[neighbor.String()]
	if !ok {
		return 0, fmt.Errorf("bgpd has no neighbor %v", neighbor)
	}
	return n.MessageStats.UpdatesRecv, nil
}
