package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRenderFormats(t *testing.T) {
	for format, want := range map[string]string{
		"iptables":         "iptables -t mangle -A PREROUTING -p tcp -d 192.168.76.24/32 -m multiport --dports 80,443 -j MARK --set-mark 80\n",
		"iptables-restore": "-A PREROUTING -p tcp -d 192.168.76.24/32 --dport 10000:20000 -j MARK --set-mark 21\nCOMMIT\n",
		"firewalld":        `firewall-cmd --add-rich-rule='rule family="ipv4" destination address="192.168.76.24/32" port port="443" protocol="tcp" mark set="80"' --permanent` + "\n",
		"firewalld-direct": "firewall-cmd --permanent --direct --add-rule ipv4 mangle PREROUTING 0 -p tcp -d 192.168.76.24/32 --dport 21 -j MARK --set-mark 21\n",
		"nft":              "\t\tip daddr 192.168.76.24 tcp dport 10000-20000 counter meta mark set 21 comment \"mark 21 tcp 192.168.76.24/32 10000-20000\"\n",
	} {
		code, out, errs := runCLI("render", "-f", "testdata/seed.conf", "--format", format, "--permanent")
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("render %s: exit %d, stderr %q, output:\n%s\nwant a line:\n%s", format, code, errs, out, want)
		}
	}
}

func TestErrors(t *testing.T) {
	if code, _, errs := runCLI("render", "-f", "testdata/seed.conf", "--format", "pf"); code != 2 || !strings.Contains(errs, `unknown format "pf"`) {
		t.Errorf("bad format: %d %q", code, errs)
	}
	if code, _, errs := runCLI("apply"); code != 2 || !strings.Contains(errs, "-f FILE is required") {
		t.Errorf("apply without file: %d %q", code, errs)
	}
	if code, _, errs := runCLI("check", "-f", "testdata/nope.conf"); code != 1 || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: %d %q", code, errs)
	}
	if code, out, _ := runCLI("check", "-f", "testdata/seed.conf"); code != 0 || out != "testdata/seed.conf: 3 rules OK\n" {
		t.Errorf("check: %d %q", code, out)
	}
	if code, _, _ := runCLI(); code != 2 {
		t.Errorf("no args: %d", code)
	}
}

func TestRealServerRender(t *testing.T) {
	code, out, errs := runCLI("realserver", "--method", "arp", "--vip", "192.168.76.24", "--real-ip", "192.168.76.11", "--render", "shell")
	want := "arptables -A IN -d 192.168.76.24 -j DROP\narptables -A OUT -s 192.168.76.24 -j mangle --mangle-ip-s 192.168.76.11\nip addr add 192.168.76.24 dev eth0\n"
	if code != 0 || out != want {
		t.Errorf("exit %d, stderr %q, output:\n%s", code, errs, out)
	}
	code, out, _ = runCLI("realserver", "--method", "redirect", "--vip", "192.168.76.24", "--service", "tcp:80,udp:53", "--render", "firewalld", "--permanent")
	if code != 0 || !strings.Contains(out, "firewall-cmd --permanent --direct --add-rule ipv4 nat PREROUTING 0 -d 192.168.76.24 -p udp -m udp --dport 53 -j REDIRECT\n") {
		t.Errorf("redirect firewalld: %d\n%s", code, out)
	}
	code, _, errs = runCLI("realserver", "--method", "arp", "--vip", "192.168.76.24", "--render", "nft")
	if code != 1 || !strings.Contains(errs, "real_ip") {
		t.Errorf("arp without --real-ip: %d %q", code, errs)
	}
	code, out, _ = runCLI("realserver", "--vip", "192.168.76.24", "--iface", "eth1", "--render", "sysctl-conf")
	if code != 0 || out != "net.ipv4.conf.eth1.arp_ignore = 1\nnet.ipv4.conf.eth1.arp_announce = 2\n" {
		t.Errorf("sysctl-conf: %d %q", code, out)
	}
}

func TestLocalRender(t *testing.T) {
	code, out, errs := runCLI("local", "--marks", "80,21", "--route-table", "100", "--family", "ipv4", "--render", "shell")
	want := "ip rule add fwmark 80 lookup 100 priority 100\nip rule add fwmark 21 lookup 100 priority 100\nip route add local 0.0.0.0/0 dev lo table 100\n"
	if code != 0 || out != want {
		t.Errorf("exit %d, stderr %q, output:\n%s", code, errs, out)
	}
	if code, _, errs := runCLI("local", "--marks", "0", "--render", "shell"); code != 1 || !strings.Contains(errs, "marks[0]") {
		t.Errorf("mark 0: %d %q", code, errs)
	}
}

// TestHelpExplainsEveryCommand: -h (and CMD -h) prints the help on stdout
// and exits 0, explaining every command and every flag.
func TestHelpExplainsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"apply", "-h"}} {
		code, out, errs := runCLI(args...)
		if code != 0 || errs != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errs)
		}
		for cmd, flags := range commandFlags {
			if !strings.Contains(out, "\n  "+cmd+" ") && !strings.Contains(out, "\n  "+cmd+"\n") {
				t.Errorf("%v: help does not explain %s", args, cmd)
			}
			for _, f := range flags {
				if f != "f" && !strings.Contains(out, "--"+f) {
					t.Errorf("%v: help does not explain --%s of %s", args, f, cmd)
				}
			}
		}
	}
}

// TestFlagsOfAnotherCommandAreRefused: nothing is silently ignored.
func TestFlagsOfAnotherCommandAreRefused(t *testing.T) {
	code, _, errs := runCLI("render", "-f", "testdata/seed.conf", "--family", "ipv6")
	if code != 2 || !strings.Contains(errs, "-family not supported by this command") {
		t.Errorf("render --family: exit %d, stderr %q", code, errs)
	}
	code, _, errs = runCLI("check", "-f", "testdata/seed.conf", "extra")
	if code != 2 || !strings.Contains(errs, `unexpected argument "extra"`) {
		t.Errorf("check extra: exit %d, stderr %q", code, errs)
	}
	code, _, errs = runCLI("bogus")
	if code != 2 || !strings.Contains(errs, `unknown command "bogus"`) {
		t.Errorf("bogus: exit %d, stderr %q", code, errs)
	}
}
