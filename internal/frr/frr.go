//go:build linux

// Package frr runs FRR's daemons (zebra, bgpd, bfdd) in a test's network
// namespace, as the upstream router of the BGP and scale-out tests and as
// the BFD peer, and reads their state through vtysh. internal/vmtest
// carries the daemons into the guest; on a host with Debian's frr package
// the same helpers serve the netns tier.
package frr

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/user"
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
	BFDD  = "/usr/lib/frr/bfdd"
)

// Router is FRR's daemons sharing one directory for their configuration,
// pid files, zserv socket and vty sockets.
type Router struct {
	Dir   string
	NS    *netns.NS
	procs map[string]*netns.Process
	order []string
}

// Start runs zebra and bgpd in ns with bgpdConf (zebra gets an empty
// configuration), and bfdd between them when bgpdConf has a "neighbor ...
// bfd" line (bgpd reaches bfdd through zebra). It waits, bounded, until
// each answers on its vty socket. bgpdArgs replace bgpd's "-p 179".
func Start(t testing.TB, ns *netns.NS, bgpdConf string, bgpdArgs ...string) *Router {
	t.Helper()
	zebra := testenv.NeedTool(t, Zebra)
	bgpd := testenv.NeedTool(t, BGPD)
	r := newRouter(t, ns, map[string]string{"zebra.conf": "log stdout\n", "bgpd.conf": bgpdConf})
	r.start(t, "zebra", zebra)
	if strings.Contains(bgpdConf, " bfd\n") {
		r.start(t, "bfdd", testenv.NeedTool(t, BFDD), "--bfdctl", filepath.Join(r.Dir, "bfdd.sock"))
	}
	if len(bgpdArgs) == 0 {
		bgpdArgs = []string{"-p", "179"}
	}
	r.start(t, "bgpd", bgpd, bgpdArgs...)
	return r
}

// StartBFDD runs bfdd alone in ns with conf (no zebra: it needs none for
// its own sessions) and waits, bounded, until it answers.
func StartBFDD(t testing.TB, ns *netns.NS, conf string) *Router {
	t.Helper()
	bfdd := testenv.NeedTool(t, BFDD)
	r := newRouter(t, ns, map[string]string{"bfdd.conf": conf})
	r.start(t, "bfdd", bfdd, "--bfdctl", filepath.Join(r.Dir, "bfdd.sock"))
	return r
}

// newRouter makes the router's directory with its configuration files and
// a vtysh.conf whose "username root nopassword" spares vtysh PAM, which
// the guest does not have.
func newRouter(t testing.TB, ns *netns.NS, files map[string]string) *Router {
	t.Helper()
	testenv.NeedTool(t, "vtysh")
	dir, err := os.MkdirTemp("", "lvskit-frr-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// Daemons that drop to user frr must reach the directory.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	files["vtysh.conf"] = "username root nopassword\n"
	for name, conf := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := &Router{Dir: dir, NS: ns, procs: map[string]*netns.Process{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("FRR:\n%s", r.Output())
		}
	})
	return r
}

// start runs daemon name (its configuration name.conf) with no TCP vty
// port, logging to its stdout, and waits for its vty socket. It runs as
// root where root may own vty sockets (the guest puts root in group
// frrvty), else as user frr, as Debian's package sets it up.
func (r *Router) start(t testing.TB, name, bin string, args ...string) {
	t.Helper()
	argv := []string{"-f", filepath.Join(r.Dir, name+".conf"), "-i", filepath.Join(r.Dir, name+".pid"),
		"-z", filepath.Join(r.Dir, "zserv.api"), "--vty_socket", r.Dir, "-P", "0", "--log", "stdout"}
	if rootInVTYGroup() {
		argv = append(argv, "-u", "root", "-g", "root")
	}
	argv = append(argv, args...)
	p := r.NS.Start(bin, argv...)
	r.procs[name] = p
	r.order = append(r.order, name)
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

// rootInVTYGroup tells whether root is a member of FRR's vty group
// frrvty.
func rootInVTYGroup() bool {
	g, err := user.LookupGroup("frrvty")
	if err != nil {
		return false
	}
	root, err := user.Lookup("root")
	if err != nil {
		return false
	}
	ids, err := root.GroupIds()
	return err == nil && slices.Contains(ids, g.Gid)
}

// Process returns the running daemon name ("zebra", "bgpd", "bfdd"), or
// nil.
func (r *Router) Process(name string) *netns.Process { return r.procs[name] }

// Output returns what the daemons have logged.
func (r *Router) Output() string {
	var b strings.Builder
	for _, name := range r.order {
		fmt.Fprintf(&b, "%s:\n%s\n", name, r.procs[name].Output())
	}
	return b.String()
}

// VTY runs one vtysh command against the router's daemons. vtysh reads
// the router's own vtysh.conf (--config_dir).
func (r *Router) VTY(ctx context.Context, cmd string) (string, error) {
	return r.vty(ctx, "", cmd)
}

// VTYDaemon runs one vtysh command against one daemon only: vtysh asks
// every daemon otherwise, and a stopped one would hold it.
func (r *Router) VTYDaemon(ctx context.Context, daemon, cmd string) (string, error) {
	return r.vty(ctx, daemon, cmd)
}

func (r *Router) vty(ctx context.Context, daemon, cmd string) (string, error) {
	args := []string{"--vty_socket", r.Dir, "--config_dir", r.Dir}
	if daemon != "" {
		args = append(args, "-d", daemon)
	}
	out, err := r.NS.Command(ctx, "vtysh", append(args, "-c", cmd)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("vtysh -c %q: %w: %s", cmd, err, out)
	}
	return string(out), nil
}

// vtyJSON runs cmd and decodes its JSON answer into v.
func (r *Router) vtyJSON(ctx context.Context, cmd string, v any) error {
	out, err := r.VTY(ctx, cmd)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("%s: %w: %s", cmd, err, strings.TrimSpace(out))
	}
	return nil
}

// NextHops returns the sorted gateways of zebra's selected BGP route for
// prefix (`show ip route PREFIX json`) that are active and in the kernel's
// FIB, or none when it has no such route.
func (r *Router) NextHops(ctx context.Context, prefix netip.Prefix) ([]netip.Addr, error) {
	cmd := "show ip route " + prefix.String() + " json"
	if prefix.Addr().Is6() {
		cmd = "show ipv6 route " + prefix.String() + " json"
	}
	var routes map[string][]struct {
		Protocol string `json:"protocol"`
		Selected bool   `json:"selected"`
		Nexthops []struct {
			IP     string `json:"ip"`
			Active bool   `json:"active"`
			FIB    bool   `json:"fib"`
		} `json:"nexthops"`
	}
	if err := r.vtyJSON(ctx, cmd, &routes); err != nil {
		return nil, err
	}
	var hops []netip.Addr
	for _, rt := range routes[prefix.String()] {
		if rt.Protocol != "bgp" || !rt.Selected {
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

// Neighbor is what the tests read of `show bgp neighbors ADDR json`.
type Neighbor struct {
	State        string `json:"bgpState"`
	HoldMs       int    `json:"bgpTimerHoldTimeMsecs"`
	KeepaliveMs  int    `json:"bgpTimerKeepAliveIntervalMsecs"`
	MessageStats struct {
		UpdatesRecv int `json:"updatesRecv"`
	} `json:"messageStats"`
}

// Neighbor returns bgpd's view of its session with neighbor.
func (r *Router) Neighbor(ctx context.Context, neighbor netip.Addr) (Neighbor, error) {
	var nb map[string]Neighbor
	if err := r.vtyJSON(ctx, "show bgp neighbors "+neighbor.String()+" json", &nb); err != nil {
		return Neighbor{}, err
	}
	n, ok := nb[neighbor.String()]
	if !ok {
		return Neighbor{}, fmt.Errorf("bgpd has no neighbor %v", neighbor)
	}
	return n, nil
}

// UpdatesReceived returns how many UPDATE messages bgpd has received from
// neighbor: an announcement or a withdraw each adds one.
func (r *Router) UpdatesReceived(ctx context.Context, neighbor netip.Addr) (int, error) {
	n, err := r.Neighbor(ctx, neighbor)
	return n.MessageStats.UpdatesRecv, err
}

// Established returns the sorted neighbours whose BGP session is
// established (`show bgp summary json`, every address family).
func (r *Router) Established(ctx context.Context) ([]netip.Addr, error) {
	var sum map[string]struct {
		Peers map[string]struct {
			State string `json:"state"`
		} `json:"peers"`
	}
	if err := r.vtyJSON(ctx, "show bgp summary json", &sum); err != nil {
		return nil, err
	}
	var up []netip.Addr
	for _, af := range sum {
		for n, p := range af.Peers {
			if a, err := netip.ParseAddr(n); err == nil && p.State == "Established" && !slices.Contains(up, a) {
				up = append(up, a)
			}
		}
	}
	slices.SortFunc(up, netip.Addr.Compare)
	return up, nil
}

// BFDPeer is one entry of bfdd's `show bfd peers json`.
type BFDPeer struct {
	Multihop   bool   `json:"multihop"`
	Peer       string `json:"peer"`
	Local      string `json:"local"`
	ID         uint32 `json:"id"`
	RemoteID   uint32 `json:"remote-id"`
	Status     string `json:"status"`
	Diagnostic string `json:"diagnostic"`
	DetectMult int    `json:"detect-multiplier"`
	RemoteRx   int    `json:"remote-receive-interval"`
	RemoteTx   int    `json:"remote-transmit-interval"`
	Rx         int    `json:"receive-interval"`
	Tx         int    `json:"transmit-interval"`
}

// BFDPeers returns bfdd's sessions.
func (r *Router) BFDPeers(ctx context.Context) ([]BFDPeer, error) {
	var ps []BFDPeer
	err := r.vtyJSON(ctx, "show bfd peers json", &ps)
	return ps, err
}
