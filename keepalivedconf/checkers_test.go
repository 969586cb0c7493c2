package keepalivedconf

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestEveryChecker(t *testing.T) {
	cfg, diags := mustConfig(t, filepath.Join("testdata", "checkers.conf"))
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	ap := netip.MustParseAddrPort
	a := netip.MustParseAddr
	want := &Config{
		GlobalDefs: &GlobalDefs{EnableScriptSecurity: true, ScriptUser: "root"},
		TrackFiles: []*TrackFile{{Name: "flag", File: "/run/lvskit-test-flag", Weight: 10}},
		VirtualServers: []*VirtualServer{{
			Addr: ap("192.0.2.1:80"), DelayLoop: 3 * time.Second, LBAlgo: "wlc", LBKind: NAT, Protocol: TCP,
			RealServers: []*RealServer{
				{
					Addr: ap("10.0.0.1:80"), Weight: 3, InhibitOnFailure: true,
					Checkers: []Checker{
						&TCPCheck{CheckCommon{ConnectIP: a("10.0.1.1"), ConnectPort: 8080, BindTo: a("10.0.2.1"),
							ConnectTimeout: 500 * time.Millisecond, Retry: 2, DelayBeforeRetry: 1500 * time.Millisecond}},
						&HTTPCheck{CheckCommon: CheckCommon{ConnectTimeout: 3 * time.Second}, Virtualhost: "www.example.com",
							URLs: []URL{{Path: "/healthz", StatusCode: "200"}, {Path: "/index.html", Digest: "9b3a0c85a887a256d6939da88aabd8cd"}}},
						&HTTPCheck{CheckCommon: CheckCommon{ConnectPort: 443}, TLS: true, URLs: []URL{{Path: "/"}}},
						&SMTPCheck{CheckCommon: CheckCommon{ConnectTimeout: 10 * time.Second}, Helo: "lb.example.com"},
						&DNSCheck{CheckCommon: CheckCommon{ConnectPort: 53}, QueryType: DNSTypeA, Name: "example.com"},
						&MiscCheck{Path: "/bin/true --quiet", Timeout: 5 * time.Second, Dynamic: true},
					},
				},
				{
					Addr: ap("10.0.0.2:80"), Weight: 1,
					Checkers: []Checker{
						&UDPCheck{CheckCommon: CheckCommon{ConnectPort: 514}, Payload: "68656c6c6f"},
						&PingCheck{CheckCommon{Retry: 1}},
						&FileCheck{TrackFile: "flag", Weight: 5, Reverse: true},
						&BFDCheck{Name: "bfd1"},
					},
				},
			},
		}},
	}
	if d := cmp.Diff(want, cfg, ignoreSyntax); d != "" {
		t.Fatalf("typed view (-want +got):\n%s", d)
	}
	var types []string
	for _, rs := range cfg.VirtualServers[0].RealServers {
		for _, c := range rs.Checkers {
			types = append(types, c.Type())
			if c.Syntax() == nil || c.Syntax().Keyword() != c.Type() {
				t.Errorf("%s: syntax %v", c.Type(), c.Syntax())
			}
		}
	}
	if d := cmp.Diff([]string{"TCP_CHECK", "HTTP_GET", "SSL_GET", "SMTP_CHECK", "DNS_CHECK", "MISC_CHECK", "UDP_CHECK", "PING_CHECK", "FILE_CHECK", "BFD_CHECK"}, types); d != "" {
		t.Fatal(d)
	}
}
