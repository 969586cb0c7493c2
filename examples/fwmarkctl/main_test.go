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
