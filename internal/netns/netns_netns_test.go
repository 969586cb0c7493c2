//go:build netns

package netns_test

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
)

// TestVethTraffic passes TCP traffic between two namespaces over a veth pair
// and checks that the server saw the client's namespace address.
func TestVethTraffic(t *testing.T) {
	a, b := netns.New(t), netns.New(t)
	netns.Veth(t, a, "eth0", b, "eth0")
	a.AddAddr("eth0", netip.MustParsePrefix("10.99.0.1/24"), netip.MustParsePrefix("fd00:99::1/64"))
	b.AddAddr("eth0", netip.MustParsePrefix("10.99.0.2/24"), netip.MustParsePrefix("fd00:99::2/64"))

	for _, srv := range []string{"10.99.0.2:7000", "[fd00:99::2]:7000"} {
		var ln net.Listener
		if err := b.Do(func() (err error) { ln, err = net.Listen("tcp", srv); return }); err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		got := make(chan string, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				got <- err.Error()
				return
			}
			defer c.Close()
			line, _ := bufio.NewReader(c).ReadString('\n')
			got <- fmt.Sprintf("%s %s", c.RemoteAddr().(*net.TCPAddr).IP, strings.TrimSpace(line))
		}()
		var c net.Conn
		if err := a.Do(func() (err error) { c, err = net.DialTimeout("tcp", srv, 5*time.Second); return }); err != nil {
			t.Fatalf("dial %s from %s: %v", srv, a.Name, err)
		}
		fmt.Fprintln(c, "hello")
		c.Close()
		want := "10.99.0.1 hello"
		if strings.HasPrefix(srv, "[") {
			want = "fd00:99::1 hello"
		}
		select {
		case g := <-got:
			if g != want {
				t.Errorf("%s: server saw %q, want %q", srv, g, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no connection", srv)
		}
	}
	// The test addresses live only in the namespaces, never on the host.
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if strings.HasPrefix(a.String(), "10.99.0.") {
			t.Errorf("host namespace has test address %s", a)
		}
	}
}

// TestSwitchAndProcess joins three hosts on a bridge and runs a process in
// one of them.
func TestSwitchAndProcess(t *testing.T) {
	sw := netns.NewSwitch(t)
	var hosts []*netns.NS
	for i := 1; i <= 3; i++ {
		h := netns.New(t)
		sw.Connect(h, "eth0", netip.MustParsePrefix(fmt.Sprintf("10.98.0.%d/24", i)))
		hosts = append(hosts, h)
	}
	out, err := hosts[0].Command(t.Context(), "ip", "-o", "-4", "addr", "show", "dev", "eth0").CombinedOutput()
	if err != nil {
		t.Fatalf("ip in namespace: %v: %s", err, out)
	}
	if !strings.Contains(string(out), "10.98.0.1/24") {
		t.Errorf("namespace address not seen by ip: %s", out)
	}
	var ln net.Listener
	if err := hosts[2].Do(func() (err error) { ln, err = net.Listen("tcp", "10.98.0.3:7001"); return }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, "pong")
			c.Close()
		}
	}()
	// Across the bridge: host 1 reaches host 3.
	var c net.Conn
	if err := hosts[0].Do(func() (err error) { c, err = net.DialTimeout("tcp", "10.98.0.3:7001", 5*time.Second); return }); err != nil {
		t.Fatalf("dial across the bridge: %v", err)
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if line != "pong\n" {
		t.Errorf("across the bridge got %q", line)
	}
	// A long-running process, killed with its group at cleanup.
	p := hosts[1].Start("sh", "-c", "ip -o -4 addr show dev eth0; echo started; exec sleep 60")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.Output(), "started") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if out := p.Output(); !strings.Contains(out, "10.98.0.2/24") {
		t.Errorf("process output %q", out)
	}
	p.Kill()
	select {
	case <-p.Done():
	default:
		t.Error("process still running after Kill")
	}
	if _, err := os.Stat(hosts[1].Path()); err != nil {
		t.Errorf("namespace path: %v", err)
	}
}
