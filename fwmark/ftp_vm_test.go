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

// ftpServe runs a minimal passive-mode FTP server on port 21 of ns: enough
// of RFC 959 for busybox ftpget (USER, PASS, TYPE, SIZE, PASV, RETR, QUIT).
// Every file holds the server's name. Passive data ports come from the
// namespace's ip_local_port_range, as with vsftpd's pasv_min/max_port.
func ftpServe(t *testing.T, ns *netns.NS, name string) {
	t.Helper()
	var ln net.Listener
	if err := ns.Do(func() (err error) { ln, err = net.Listen("tcp4", ":21"); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	serveConns(ln, func(c net.Conn) { go ftpSession(ns, c, name) })
}

func ftpSession(ns *netns.NS, c net.Conn, name string) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	say := func(s string) { fmt.Fprintf(c, "%s\r\n", s) }
	content := name + "\n"
	var data net.Listener
	defer func() {
		if data != nil {
			data.Close()
		}
	}()
	say("220 lvskit test ftp")
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch strings.ToUpper(cmd) {
		case "USER":
			say("331 password please")
		case "PASS":
			say("230 logged in")
		case "TYPE":
			say("200 type set")
		case "SIZE":
			say(fmt.Sprintf("213 %d", len(content)))
		case "PASV":
			// The address in the reply is the one the client reached us
			// on: the VIP, since a DR real server holds it.
			local := c.LocalAddr().(*net.TCPAddr).AddrPort().Addr().As4()
			if err := ns.Do(func() (err error) {
				data, err = net.Listen("tcp4", netip.AddrFrom4(local).String()+":0")
				return err
			}); err != nil {
				say("425 no data port")
				continue
			}
			p := data.Addr().(*net.TCPAddr).Port
			say(fmt.Sprintf("227 Entering Passive Mode (%d,%d,%d,%d,%d,%d)", local[0], local[1], local[2], local[3], p>>8, p&0xff))
		case "RETR":
			if data == nil {
				say("425 use PASV first")
				continue
			}
			say("150 sending")
			data.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
			dc, err := data.Accept()
			data.Close()
			data = nil
			if err != nil {
				say("425 no data connection")
				continue
			}
			fmt.Fprint(dc, content)
			dc.Close()
			say("226 done")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

// TestVMFTPPassiveDirectRouting is the seed's FTP setup end to end: the
// director marks FTP control (21) and the passive range (10000-20000) with
// mark 21, IPVS balances one persistent fwmark-21 service over two Direct
// Routing real servers prepared by RealServer.Apply (VIP on lo,
// arp_ignore/arp_announce), and busybox ftpget, a real FTP client,
// downloads over passive data connections, which must reach the server
// that holds the control connection.
func TestVMFTPPassiveDirectRouting(t *testing.T) {
	testenv.NeedVM(t)
	ctx := context.Background()
	vip := netip.MustParseAddr("10.0.0.100")
	client, lb := netns.New(t), netns.New(t)
	netns.Veth(t, client, "eth0", lb, "eth0")
	client.AddAddr("eth0", netip.MustParsePrefix("10.0.0.1/24"))
	lb.AddAddr("eth0", netip.MustParsePrefix("10.0.0.2/24"))
	lb.AddAddr("lo", netip.PrefixFrom(vip, 32))
	sw := netns.NewSwitch(t)
	sw.Connect(lb, "eth1", netip.MustParsePrefix("10.0.1.1/24"))
	run := func(ns *netns.NS, name string, args ...string) string {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		out, err := ns.Command(cctx, name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run(client, "ip", "route", "add", "10.0.0.100/32", "via", "10.0.0.2")

	// The director forwards the real servers' replies to the client; they
	// come from the VIP, which is also local here.
	lbSys := Sysctl{NetNS: lb.Path()}
	if _, err := lbSys.EnableForwarding(ctx, IPv4); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"net.ipv4.conf.all.accept_local", "net/ipv4/conf/eth1/accept_local"} {
		if _, err := lbSys.Set(ctx, k, "1"); err != nil {
			t.Fatal(err)
		}
	}

	for i := range 2 {
		rs := netns.New(t)
		sw.Connect(rs, "eth0", netip.MustParsePrefix(fmt.Sprintf("10.0.1.%d/24", 11+i)))
		run(rs, "ip", "route", "add", "default", "via", "10.0.1.1")
		cs, err := RealServer{Method: DRSysctl, VIPs: []netip.Addr{vip}, Interface: "eth0"}.Apply(ctx, rs.Path())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("real server %d:\n%s", i+1, cs)
		// vsftpd's pasv_min_port/pasv_max_port, for our server.
		if _, err := (Sysctl{NetNS: rs.Path()}).Set(ctx, "net.ipv4.ip_local_port_range", "10000\t20000"); err != nil {
			t.Fatal(err)
		}
		ftpServe(t, rs, fmt.Sprintf("rs%d", i+1))
	}

	tab := applyConf(t, lb.Path(), "mark 21 tcp 10.0.0.100 21\nmark 21 tcp 10.0.0.100 10000-20000\n")
	run(lb, "ipvsadm", "-A", "-f", "21", "-s", "rr", "-p", "300")
	run(lb, "ipvsadm", "-a", "-f", "21", "-r", "10.0.1.11", "-g")
	run(lb, "ipvsadm", "-a", "-f", "21", "-r", "10.0.1.12", "-g")

	first := ""
	for i := range 3 {
		got := strings.TrimSpace(run(client, "ftpget", "-u", "anonymous", "-p", "x", "10.0.0.100", "-", "file"))
		if got != "rs1" && got != "rs2" {
			t.Fatalf("download %d: %q", i, got)
		}
		if first == "" {
			first = got
		} else if got != first {
			t.Errorf("download %d came from %s, the first from %s: persistence lost", i, got, first)
		}
	}
	t.Log(run(lb, "ipvsadm", "-Lnc"))
	requireAllCounted(t, tab)
}
