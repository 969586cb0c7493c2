//go:build vm

package fwmark

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// lvsLab is a NAT load balancer in the guest: a client namespace, a
// director namespace holding the VIP and IPVS, and two real servers behind
// it on a switch; IPv4 and IPv6 throughout.
type lvsLab struct {
	client, lb *netns.NS
	rs         []*netns.NS
	vip, vip6  netip.Addr
}

func newLVSLab(t *testing.T) *lvsLab {
	t.Helper()
	l := &lvsLab{client: netns.New(t), lb: netns.New(t),
		vip: netip.MustParseAddr("10.0.0.100"), vip6: netip.MustParseAddr("fd00:1::100")}
	netns.Veth(t, l.client, "eth0", l.lb, "eth0")
	l.client.AddAddr("eth0", netip.MustParsePrefix("10.0.0.1/24"), netip.MustParsePrefix("10.0.0.3/24"), netip.MustParsePrefix("10.0.0.4/24"),
		netip.MustParsePrefix("fd00::1/64"))
	l.lb.AddAddr("eth0", netip.MustParsePrefix("10.0.0.2/24"), netip.MustParsePrefix("fd00::2/64"))
	l.lb.AddAddr("lo", netip.PrefixFrom(l.vip, 32), netip.PrefixFrom(l.vip6, 128))
	sw := netns.NewSwitch(t)
	sw.Connect(l.lb, "eth1", netip.MustParsePrefix("10.0.1.1/24"), netip.MustParsePrefix("fd00:10::1/64"))
	for i := range 2 {
		rs := netns.New(t)
		sw.Connect(rs, "eth0", netip.MustParsePrefix(fmt.Sprintf("10.0.1.%d/24", 11+i)), netip.MustParsePrefix(fmt.Sprintf("fd00:10::%d/64", 11+i)))
		l.run(t, rs, "ip", "route", "add", "default", "via", "10.0.1.1")
		l.run(t, rs, "ip", "-6", "route", "add", "default", "via", "fd00:10::1")
		l.rs = append(l.rs, rs)
	}
	l.run(t, l.client, "ip", "route", "add", "10.0.0.100/32", "via", "10.0.0.2")
	l.run(t, l.client, "ip", "-6", "route", "add", "fd00:1::100/128", "via", "fd00::2")
	cs, err := Sysctl{NetNS: l.lb.Path()}.EnableForwarding(context.Background())
	if err != nil || len(cs) != 2 {
		t.Fatalf("forwarding on the director: %v, %v", cs, err)
	}
	return l
}

func (l *lvsLab) run(t *testing.T, ns *netns.NS, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := ns.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// serve answers every connection on port with the server's name.
func serve(t *testing.T, ns *netns.NS, name string, ports ...int) {
	t.Helper()
	for _, p := range ports {
		var ln net.Listener
		if err := ns.Do(func() (err error) { ln, err = net.Listen("tcp", fmt.Sprintf(":%d", p)); return err }); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		serveConns(ln, func(c net.Conn) {
			fmt.Fprintf(c, "%s\n", name)
			c.Close()
		})
	}
}

// ask connects from the client (source address src) to VIP:port and
// returns the first line the server sent.
func (l *lvsLab) ask(t *testing.T, src netip.Addr, port uint16) (string, error) {
	t.Helper()
	return l.askAt(t, src, netip.AddrPortFrom(l.vip, port))
}

func (l *lvsLab) askAt(t *testing.T, src netip.Addr, dst netip.AddrPort) (string, error) {
	t.Helper()
	var line string
	err := l.client.Do(func() error {
		d := net.Dialer{Timeout: 20 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
		c, err := d.Dial("tcp", dst.String())
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		line, err = bufio.NewReader(c).ReadString('\n')
		line = strings.TrimSpace(line)
		return err
	})
	return line, err
}

// TestVMFwmarkService joins lvskit marks with the kernel's IPVS: one
// firewall-mark service (mark 80) carries both HTTP and HTTPS to the real
// servers, and a persistent mark-21 service keeps each client's FTP control
// and passive data connections on one real server.
func TestVMFwmarkService(t *testing.T) {
	testenv.NeedVM(t)
	l := newLVSLab(t)
	for i, rs := range l.rs {
		serve(t, rs, fmt.Sprintf("rs%d", i+1), 80, 443, 21, 10021)
	}
	tab := applyConf(t, l.lb.Path(), `
mark 80 tcp 10.0.0.100 80,443
mark 21 tcp 10.0.0.100 21
mark 21 tcp 10.0.0.100 10000-20000
`)

	l.run(t, l.lb, "ipvsadm", "-A", "-f", "80", "-s", "rr")
	l.run(t, l.lb, "ipvsadm", "-A", "-f", "21", "-s", "rr", "-p", "300")
	for _, mark := range []string{"80", "21"} {
		for _, ip := range []string{"10.0.1.11", "10.0.1.12"} {
			l.run(t, l.lb, "ipvsadm", "-a", "-f", mark, "-r", ip+":0", "-m")
		}
	}
	t.Log(l.run(t, l.lb, "ipvsadm", "-Ln"))

	// Mark 80: both ports reach the real servers, round robin over both.
	src := netip.MustParseAddr("10.0.0.1")
	seen := map[string]int{}
	for _, port := range []uint16{80, 443, 80, 443} {
		got, err := l.ask(t, src, port)
		if err != nil || (got != "rs1" && got != "rs2") {
			t.Fatalf("VIP:%d: %q, %v", port, got, err)
		}
		seen[got]++
	}
	if seen["rs1"] != 2 || seen["rs2"] != 2 {
		t.Errorf("rr over mark 80 gave %v, want two connections each", seen)
	}
	// A port without a mark is not load balanced: the director itself
	// refuses it.
	if got, err := l.ask(t, src, 8080); err == nil {
		t.Errorf("VIP:8080 answered %q; it has no mark and no service", got)
	}

	// Mark 21 with persistence: each client's control (21) and passive
	// data (10021) connections land on the same real server; rr spreads
	// the clients.
	servers := map[string]bool{}
	for _, c := range []string{"10.0.0.1", "10.0.0.3", "10.0.0.4"} {
		a := netip.MustParseAddr(c)
		ctl, err := l.ask(t, a, 21)
		if err != nil {
			t.Fatalf("control from %s: %v", c, err)
		}
		for range 2 {
			data, err := l.ask(t, a, 10021)
			if err != nil || data != ctl {
				t.Errorf("client %s: control on %s, passive data on %q (%v)", c, ctl, data, err)
			}
		}
		servers[ctl] = true
	}
	if len(servers) != 2 {
		t.Errorf("persistent mark 21 used servers %v, want both", servers)
	}

	requireAllCounted(t, tab)
}

// TestVMFwmarkPrefixService balances a whole /24 of VIPs that no interface
// holds: the marks cover the prefix, LocalDelivery routes marked packets to
// local input where IPVS takes them, and the dh scheduler keeps each
// destination address on one real server.
func TestVMFwmarkPrefixService(t *testing.T) {
	testenv.NeedVM(t)
	l := newLVSLab(t)
	for i, rs := range l.rs {
		serve(t, rs, fmt.Sprintf("rs%d", i+1), 80)
	}
	l.run(t, l.client, "ip", "route", "add", "10.0.2.0/24", "via", "10.0.0.2")
	ctx := context.Background()
	tab := applyConf(t, l.lb.Path(), "mark 90 tcp 10.0.2.0/24 80\n")
	cs, err := LocalDelivery{Marks: []uint32{90}, Table: 90, Families: []Family{IPv4}}.Apply(ctx, l.lb.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Undo(context.Background()) })
	l.run(t, l.lb, "ipvsadm", "-A", "-f", "90", "-s", "dh")
	for _, ip := range []string{"10.0.1.11", "10.0.1.12"} {
		l.run(t, l.lb, "ipvsadm", "-a", "-f", "90", "-r", ip+":0", "-m")
	}
	src := netip.MustParseAddr("10.0.0.1")
	servers := map[string]bool{}
	for _, host := range []byte{5, 6, 7, 8, 9, 10, 77, 200} {
		dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 2, host}), 80)
		first, err := l.askAt(t, src, dst)
		if err != nil || (first != "rs1" && first != "rs2") {
			t.Fatalf("%s: %q, %v", dst, first, err)
		}
		again, err := l.askAt(t, src, dst)
		if err != nil || again != first {
			t.Errorf("%s: first %s, then %q (%v); dh must keep an address on one server", dst, first, again, err)
		}
		servers[first] = true
	}
	t.Logf("servers used: %v", servers)
	requireAllCounted(t, tab)
}

// TestVMFwmarkServiceIPv6 is the mark-80 bundle over IPv6: the same inet
// table marks IPv6 packets, and an IPv6 firewall-mark service balances them.
func TestVMFwmarkServiceIPv6(t *testing.T) {
	testenv.NeedVM(t)
	l := newLVSLab(t)
	for i, rs := range l.rs {
		serve(t, rs, fmt.Sprintf("rs%d", i+1), 80, 443)
	}
	tab := applyConf(t, l.lb.Path(), "mark 80 tcp fd00:1::100 80,443\n")
	l.run(t, l.lb, "ipvsadm", "-A", "-f", "80", "-6", "-s", "rr")
	for _, ip := range []string{"[fd00:10::11]", "[fd00:10::12]"} {
		l.run(t, l.lb, "ipvsadm", "-a", "-f", "80", "-6", "-r", ip+":0", "-m")
	}
	t.Log(l.run(t, l.lb, "ipvsadm", "-Ln"))
	src := netip.MustParseAddr("fd00::1")
	seen := map[string]int{}
	for _, port := range []uint16{80, 443, 80, 443} {
		got, err := l.askAt(t, src, netip.AddrPortFrom(l.vip6, port))
		if err != nil || (got != "rs1" && got != "rs2") {
			t.Fatalf("[VIP]:%d: %q, %v", port, got, err)
		}
		seen[got]++
	}
	if seen["rs1"] != 2 || seen["rs2"] != 2 {
		t.Errorf("rr over IPv6 mark 80 gave %v, want two connections each", seen)
	}
	requireAllCounted(t, tab)
}
