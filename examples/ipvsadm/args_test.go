package main

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/ipvs"
)

func TestParseArgs(t *testing.T) {
	c, err := parseArgs(strings.Fields("-A -t 10.0.0.1:80 -s rr -p 60 -M 255.255.255.0 -o"))
	if err != nil {
		t.Fatal(err)
	}
	want := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80"), Scheduler: "rr",
		Flags: ipvs.FlagPersistent | ipvs.FlagOnePacket, Timeout: time.Minute, Netmask: 0xffffff00}
	if c.cmd != "A" || c.svc.Key() != want.Key() || c.svc.Scheduler != "rr" || c.svc.Flags != want.Flags ||
		c.svc.Timeout != want.Timeout || c.svc.Netmask != want.Netmask {
		t.Errorf("-A parsed as %+v", c)
	}

	c, err = parseArgs(strings.Fields("-a -t [2001:db8::1]:443 -r 2001:db8::2 -m -w 3 -x 10 -y 5"))
	if err != nil {
		t.Fatal(err)
	}
	if c.cmd != "a" || c.dst.Addr != netip.MustParseAddrPort("[2001:db8::2]:443") || c.dst.Forward != ipvs.Masquerade ||
		c.dst.Weight != 3 || c.dst.UpperThreshold != 10 || c.dst.LowerThreshold != 5 {
		t.Errorf("-a parsed as %+v", c.dst)
	}

	// DR and tunnel servers take the service's port, whatever was given.
	c, err = parseArgs(strings.Fields("-a -u 10.0.0.1:53 -r 10.1.0.1:99 -g"))
	if err != nil || c.dst.Addr.Port() != 53 {
		t.Errorf("-g port: %+v, %v", c, err)
	}

	c, err = parseArgs(strings.Fields("-a -f 7 -6 -r 2001:db8::9 -i --tun-type gue --tun-port 6080 --tun-csum"))
	if err != nil {
		t.Fatal(err)
	}
	if c.svc.Key() != (ipvs.ServiceKey{Family: ipvs.IPv6, FWMark: 7}) || c.dst.Forward != ipvs.Tunnel ||
		c.dst.TunnelType != ipvs.TunnelGUE || c.dst.TunnelPort != 6080 || c.dst.TunnelFlags != ipvs.TunnelChecksum ||
		c.dst.Addr.Port() != 0 {
		t.Errorf("fwmark tunnel parsed as %+v %+v", c.svc, c.dst)
	}

	c, err = parseArgs([]string{"-Ln", "--stats", "--exact"})
	if err != nil || c.cmd != "L" || !c.numeric || !c.list.stats || !c.list.exact {
		t.Errorf("-Ln: %+v, %v", c, err)
	}
	c, err = parseArgs([]string{"-A", "-t", "10.0.0.1:80", "-s", "sh", "-b", "sh-fallback,sh-port"})
	if err != nil || c.svc.Flags != ipvs.FlagSHFallback|ipvs.FlagSHPort {
		t.Errorf("-b: %+v, %v", c, err)
	}
	c, err = parseArgs([]string{"--set", "900", "120", "300"})
	if err != nil || c.timeouts != (ipvs.Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}) {
		t.Errorf("--set: %+v, %v", c, err)
	}
	c, err = parseArgs([]string{"--start-daemon", "master", "--mcast-interface", "eth1", "--syncid", "3"})
	if err != nil || c.d != (ipvs.Daemon{State: ipvs.Master, Interface: "eth1", SyncID: 3}) {
		t.Errorf("--start-daemon: %+v, %v", c, err)
	}
	c, err = parseArgs([]string{"-A", "-t", "10.0.0.1:80", "-p"})
	if err != nil || c.svc.Timeout != 300*time.Second {
		t.Errorf("-p default: %+v, %v", c, err)
	}

	for _, bad := range []string{"-A -t nohost:80", "-a -t 10.0.0.1:80 -r [2001:db8::2]", "-a -t 10.0.0.1:80 -r 10.1.0.1 -w -1", "-A -f 0", "-Q",
		"-a -t 10.0.0.1:80 -r 10.1.0.1 -m --tun-type gue", "-A -t 10.0.0.1:80 -s sh -b mh-port", "-A -D"} {
		if _, err := parseArgs(strings.Fields(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestWriteConnections(t *testing.T) {
	in := `Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 0A000002 D431 0A000001 0050 0A010001 1F90 ESTABLISHED     899
UDP 2001:0db8:0000:0000:0000:0000:0000:0002 0035 2001:0db8:0000:0000:0000:0000:0000:0001 0035 2001:0db8:0000:0000:0000:0000:0000:0009 0035 UDP              65
`
	var b bytes.Buffer
	if err := writeConnections(&b, strings.NewReader(in), false); err != nil {
		t.Fatal(err)
	}
	want := `IPVS connection entries
pro expire state       source             virtual            destination
TCP 14:59  ESTABLISHED 10.0.0.2:54321     10.0.0.1:80        10.1.0.1:8080
UDP 01:05  UDP         [2001:db8::2]:53   [2001:db8::1]:53   [2001:db8::9]:53
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
