//go:build vm

package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/sched"
)

// The scale-out tests share one address plan: a LAN switch holding the
// upstream router (10.0.0.1), the directors (10.0.0.11-13) and the real
// servers (10.0.0.21-23); the client sits behind the router (10.9.0.2, the
// router's other side is 10.9.0.1); the VIP is 10.0.100.1.
var (
	soVIP      = netip.MustParseAddr("10.0.100.1")
	soRouter   = netip.MustParseAddr("10.0.0.1")
	soClient   = netip.MustParseAddr("10.9.0.2")
	soClientGW = netip.MustParseAddr("10.9.0.1")
)

func soDirector(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(11 + i)}) }
func soReal(i int) netip.Addr     { return netip.AddrFrom4([4]byte{10, 0, 0, byte(21 + i)}) }

// director is one lvsrouter in its namespace.
type director struct {
	t    testing.TB
	ns   *netns.NS
	addr netip.Addr
	dir  string
	conf string
	args []string
	proc *netns.Process
	logs []string // output of earlier processes
}

func newDirector(t testing.TB, ns *netns.NS, addr netip.Addr, conf string, args ...string) *director {
	t.Helper()
	d := &director{t: t, ns: ns, addr: addr, dir: t.TempDir(), args: args}
	d.conf = filepath.Join(d.dir, "keepalived.conf")
	mustWrite(t, d.conf, []byte(conf))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("director %v log:\n%s", addr, d.output())
		}
	})
	return d
}

func (d *director) output() string {
	out := strings.Join(d.logs, "\n--- restarted ---\n")
	if d.proc != nil {
		out += d.proc.Output()
	}
	return out
}

// start runs lvsrouter in the director's namespace.
func (d *director) start() {
	d.t.Helper()
	self, err := os.Executable()
	if err != nil {
		d.t.Fatal(err)
	}
	if d.proc != nil {
		d.logs = append(d.logs, d.proc.Output())
	}
	argv := append([]string{"-f", d.conf, "-l", "-log-level", "info", "-p", filepath.Join(d.dir, "k.pid"),
		"-r", filepath.Join(d.dir, "v.pid"), "-c", filepath.Join(d.dir, "c.pid")}, d.args...)
	d.proc = d.ns.StartEnv([]string{"LVSROUTER_AS_MAIN=1"}, self, argv...)
}

// reload writes conf and sends SIGHUP.
func (d *director) reload(conf string) {
	d.t.Helper()
	mustWrite(d.t, d.conf, []byte(conf))
	if err := d.proc.Signal(syscall.SIGHUP); err != nil {
		d.t.Fatal(err)
	}
}

// service dumps the director's IPVS service for the VIP (nil if none).
func (d *director) service() *ipvs.Service {
	d.t.Helper()
	c, err := ipvs.Dial(d.t.Context(), &ipvs.Config{NetNS: d.ns.Path()})
	if err != nil {
		d.t.Fatal(err)
	}
	defer c.Close()
	svcs, err := c.Dump(d.t.Context())
	if err != nil {
		d.t.Fatal(err)
	}
	for i := range svcs {
		if svcs[i].Addr.Addr() == soVIP {
			return &svcs[i]
		}
	}
	return nil
}

// waitService waits (bounded) until the director's service for the VIP
// has exactly the wanted destinations (any order, weight > 0).
func (d *director) waitService(want ...netip.Addr) *ipvs.Service {
	d.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s := d.service()
		var got []netip.Addr
		if s != nil {
			for _, x := range s.Destinations {
				if x.Weight > 0 {
					got = append(got, x.Addr.Addr())
				}
			}
		}
		slices.SortFunc(got, netip.Addr.Compare)
		w := slices.Clone(want)
		slices.SortFunc(w, netip.Addr.Compare)
		if s != nil && slices.Equal(got, w) {
			return s
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("director %v: destinations %v, want %v", d.addr, got, w)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mhPredict builds sched's kernel-exact mh from a dumped service (the dump
// lists destinations head first; the kernel adds at the head, so they are
// added last to first) and returns the real server it picks for each
// source port of client, over every port: with mh-port, 65,536 keys cover
// every slot of the 4,093-slot table many times over, so equal
// predictions are equal tables.
func mhPredict(t *testing.T, s *ipvs.Service, client netip.Addr) []netip.Addr {
	t.Helper()
	flags := uint32(0)
	if s.Flags&ipvs.FlagMHPort != 0 {
		flags |= sched.FlagPort
	}
	if s.Flags&ipvs.FlagMHFallback != 0 {
		flags |= sched.FlagFallback
	}
	m, err := sched.New("mh", &sched.Config{Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	for i := len(s.Destinations) - 1; i >= 0; i-- {
		d := s.Destinations[i]
		if err := m.Add(sched.Dest{Addr: d.Addr, Weight: d.Weight}); err != nil {
			t.Fatal(err)
		}
	}
	out := make([]netip.Addr, 1<<16)
	for p := range out {
		a, _ := m.Pick(sched.Key{Proto: sched.TCP, Src: netip.AddrPortFrom(client, uint16(p)), Dst: s.Addr})
		out[p] = a.Addr()
	}
	return out
}

// synProbe sends one SYN to VIP:80 from each source port through whatever
// route the client has, and returns the real server the kernel of ns
// chose for each, read from its /proc/net/ip_vs_conn (connections that
// never complete stay there in SYN_RECV for a minute). A SYN can be lost
// before it reaches the director (a goroutine of the 400 scheduled after
// its dial timed out in a busy single-vCPU guest), which says nothing about
// the table; ports without a connection entry are probed again, at most
// three passes in all, so a port is reported missing only when it never
// got through.
func synProbe(t *testing.T, client, ns *netns.NS, ports []uint16) map[uint16]netip.Addr {
	t.Helper()
	var got map[uint16]netip.Addr
	todo := ports
	for pass := 0; pass < 3 && len(todo) > 0; pass++ {
		var wg sync.WaitGroup
		for _, p := range todo {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client.Do(func() error {
					d := net.Dialer{LocalAddr: &net.TCPAddr{Port: int(p)}, Timeout: 300 * time.Millisecond}
					c, err := d.Dial("tcp", netip.AddrPortFrom(soVIP, 80).String())
					if err == nil {
						c.Close()
					}
					return nil
				})
			}()
		}
		wg.Wait()
		got = ipvsConns(t, ns)
		var missing []uint16
		for _, p := range todo {
			if _, ok := got[p]; !ok {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			t.Logf("synProbe pass %d: %d of %d ports without a connection entry", pass+1, len(missing), len(todo))
		}
		todo = missing
	}
	return got
}

// ipvsConns reads the namespace's /proc/net/ip_vs_conn: client port ->
// real server, for connections to the VIP.
func ipvsConns(t *testing.T, ns *netns.NS) map[uint16]netip.Addr {
	t.Helper()
	out, err := ns.Command(t.Context(), "cat", "/proc/net/ip_vs_conn").Output()
	if err != nil {
		t.Fatal(err)
	}
	hexAddr := func(s string) netip.Addr {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != 4 {
			return netip.Addr{}
		}
		return netip.AddrFrom4([4]byte(b))
	}
	got := map[uint16]netip.Addr{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[0] != "TCP" || hexAddr(f[3]) != soVIP {
			continue
		}
		port, err := strconv.ParseUint(f[2], 16, 16)
		if err != nil {
			continue
		}
		got[uint16(port)] = hexAddr(f[5])
	}
	return got
}

// mhConfig is a keepalived.conf with one DR mh service on the VIP and the
// given real servers ("addr" or "addr*weight"), in that order.
func mhConfig(check string, reals ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "virtual_server %v 80 {\n    protocol TCP\n    lb_algo mh\n    mh-port\n    lb_kind DR\n    delay_loop 1\n", soVIP)
	for _, r := range reals {
		addr, w, ok := strings.Cut(r, "*")
		if !ok {
			w = "1"
		}
		fmt.Fprintf(&b, "    real_server %s 80 {\n        weight %s\n%s    }\n", addr, w, check)
	}
	b.WriteString("}\n")
	return b.String()
}
