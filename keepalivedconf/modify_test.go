package keepalivedconf

import (
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

func TestTypedEditsChangeOnlyTheirLines(t *testing.T) {
	data, err := os.ReadFile("testdata/seed/nat_lb1_full.conf")
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	f, err := Parse("lb1.conf", data)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	ext := cfg.Instances[0]
	if err := ext.SetPriority(150); err != nil {
		t.Fatal(err)
	}
	if !cfg.Instances[1].RemoveVIP(netip.MustParsePrefix("192.168.1.1/32")) {
		t.Fatal("RemoveVIP found nothing")
	}
	if cfg.Instances[1].RemoveVIP(netip.MustParsePrefix("192.168.1.99/32")) {
		t.Fatal("RemoveVIP removed an absent address")
	}
	vs := cfg.VirtualServers[0]
	if _, err := vs.AddRealServer(&RealServer{
		Addr: netip.MustParseAddrPort("192.168.1.24:80"), Weight: 2,
		Checkers: []Checker{&TCPCheck{CheckCommon{ConnectTimeout: 1500 * time.Millisecond}}},
	}); err != nil {
		t.Fatal(err)
	}
	if !vs.RemoveRealServer(netip.MustParseAddrPort("192.168.1.21:80")) {
		t.Fatal("RemoveRealServer found nothing")
	}
	if err := vs.RealServers[0].SetWeight(5); err != nil {
		t.Fatal(err)
	}

	want := src
	want = strings.Replace(want, "  priority 100\n", "  priority 150\n", 1)
	want = strings.Replace(want, "  virtual_ipaddress {\n    192.168.1.1\n  }\n", "  virtual_ipaddress {\n  }\n", 1)
	want = strings.Replace(want, "    real_server 192.168.1.21 80 {\n        TCP_CHECK {\n            connect_timeout 10\n        }\n    }\n", "", 1)
	want = strings.Replace(want, "    real_server 192.168.1.20 80 {\n        TCP_CHECK {\n            connect_timeout 10\n        }\n",
		"    real_server 192.168.1.20 80 {\n        TCP_CHECK {\n            connect_timeout 10\n        }\n        weight 5\n", 1)
	want = strings.Replace(want, "            connect_timeout 10\n        }\n    }\n}\n",
		"            connect_timeout 10\n        }\n    }\n"+
			"    real_server 192.168.1.24 80 {\n        weight 2\n        TCP_CHECK {\n            connect_timeout 1.5\n        }\n    }\n}\n", 1)
	if got := string(f.Format()); got != want {
		t.Fatalf("after edits:\n%s\nwant:\n%s", got, want)
	}

	// the edited file reads back to the edited values
	f2, err := Parse("lb1.conf", f.Format())
	if err != nil {
		t.Fatal(err)
	}
	cfg2, err := f2.Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg2.Instances[0].Priority != 150 || len(cfg2.Instances[1].VIPs) != 0 || len(cfg2.VirtualServers[0].RealServers) != 4 ||
		cfg2.VirtualServers[0].RealServers[0].Weight != 5 || cfg2.VirtualServers[0].RealServers[3].Addr.Port() != 80 ||
		cfg2.VirtualServers[0].RealServers[3].Checkers[0].(*TCPCheck).ConnectTimeout != 1500*time.Millisecond {
		t.Fatalf("re-read: %+v", cfg2)
	}
}

func TestEditInlineBlock(t *testing.T) {
	src := "virtual_server 10.1.1.1 80 {\n  real_server 10.1.1.2 80 { weight 1 }\n  real_server 10.1.1.3 80 {\n    weight 1 }\n}"
	f, _ := Parse("i.conf", []byte(src))
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range cfg.VirtualServers[0].RealServers {
		rs.Stmt.Block.Add(NewStmt("inhibit_on_failure"))
	}
	if _, err := cfg.VirtualServers[0].AddRealServer(&RealServer{Addr: netip.MustParseAddrPort("10.1.1.4:80")}); err != nil {
		t.Fatal(err)
	}
	out := f.Format()
	t.Logf("%s", out)
	f2, err := Parse("i.conf", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cfg2, err := f2.Config()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	rs := cfg2.VirtualServers[0].RealServers
	if len(rs) != 3 || !rs[0].InhibitOnFailure || !rs[1].InhibitOnFailure || rs[0].Weight != 1 || rs[2].Weight != 0 {
		t.Fatalf("re-read:\n%s", out)
	}
}

func TestFileAddRemove(t *testing.T) {
	src := "global_defs {\n    router_id a\n}"
	f, err := Parse("f.conf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	vs := f.Add(NewStmt("virtual_server", "192.0.2.1", "80").WithBlock(NewStmt("protocol", "TCP"), NewStmt("notify_up", "/bin/echo up # now")))
	want := "global_defs {\n    router_id a\n}\nvirtual_server 192.0.2.1 80 {\n    protocol TCP\n    notify_up \"/bin/echo up # now\"\n}\n"
	if got := string(f.Format()); got != want {
		t.Fatalf("add:\n%q\nwant\n%q", got, want)
	}
	f2, err := Parse("f.conf", f.Format())
	if err != nil {
		t.Fatal(err)
	}
	if got := f2.Stmts[1].Block.Stmts[1].Arg(1); got != "/bin/echo up # now" {
		t.Fatalf("quoted word read back as %q", got)
	}
	if !f.Remove(vs) || f.Remove(vs) {
		t.Fatal("Remove")
	}
	if got := string(f.Format()); got != src+"\n" {
		t.Fatalf("remove: %q", got)
	}
}
