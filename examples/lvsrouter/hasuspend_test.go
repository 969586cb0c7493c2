package main

import (
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/check"
)

const haSuspendConf = `virtual_server_group G {
    10.0.0.20 80
    10.0.0.30-31 80
}
virtual_server 10.0.0.10 80 {
    delay_loop 1
    ha_suspend
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.11 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
virtual_server group G {
    delay_loop 1
    ha_suspend
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.12 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
virtual_server 10.0.0.40 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.13 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`

// TestHASuspendPlan: ha_suspend marks the service, with the addresses
// whose presence resumes its checks: its own, or every address of its
// group.
func TestHASuspendPlan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	mustWrite(t, path, []byte(haSuspendConf))
	p, err := translateFile(t, path)
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	want := map[string][]netip.Addr{
		"tcp 10.0.0.10:80": {a("10.0.0.10")},
		"tcp 10.0.0.20:80": {a("10.0.0.20"), a("10.0.0.30"), a("10.0.0.31")},
		"tcp 10.0.0.30:80": {a("10.0.0.20"), a("10.0.0.30"), a("10.0.0.31")},
		"tcp 10.0.0.31:80": {a("10.0.0.20"), a("10.0.0.30"), a("10.0.0.31")},
		"tcp 10.0.0.40:80": nil,
	}
	if len(p.Services) != len(want) {
		t.Fatalf("%d services, want %d", len(p.Services), len(want))
	}
	for _, vs := range p.Services {
		w, ok := want[vs.Description()]
		if !ok {
			t.Errorf("unexpected service %s", vs.Description())
			continue
		}
		if vs.HASuspend != (w != nil) || !slices.Equal(vs.getRare().haSuspendAddrs, w) {
			t.Errorf("%s: HASuspend %v on %v, want on %v", vs.Description(), vs.HASuspend, vs.getRare().haSuspendAddrs, w)
		}
	}
}

// TestHASuspendFWMarkRefusedWithItsPlace: keepalived -t fails on
// ha_suspend with a firewall mark ("cannot use ha_suspend with fwmarks");
// so does lvsrouter, naming the line.
func TestHASuspendFWMarkRefusedWithItsPlace(t *testing.T) {
	for name, conf := range map[string]string{
		"fwmark": `virtual_server fwmark 5 {
    ha_suspend
    lb_algo rr
    real_server 10.1.0.11 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`,
		"group with a mark": `virtual_server_group G {
    10.0.0.20 80
    fwmark 7
}
virtual_server group G {
    lb_algo rr
    ha_suspend
    protocol TCP
    real_server 10.1.0.11 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keepalived.conf")
			mustWrite(t, path, []byte(conf))
			_, err := translateFile(t, path)
			if err == nil {
				t.Fatal("ha_suspend with a firewall mark accepted")
			}
			line := map[string]string{"fwmark": ":2:5", "group with a mark": ":7:5"}[name]
			for _, want := range []string{path + line, "cannot use ha_suspend with fwmarks"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// TestHASuspendFollowsLocalAddresses: with the services' addresses absent
// the ha_suspend checks are suspended (the other service's run); an
// address appearing resumes its service's checks, a second interface
// holding it keeps them running until both have lost it, as keepalived
// counts it; the data dump says "Enabled = no" for suspended checkers.
func TestHASuspendFollowsLocalAddresses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	mustWrite(t, path, []byte(haSuspendConf))
	p, err := translateFile(t, path)
	if err != nil {
		t.Fatal(err)
	}
	r := newRouter(slog.New(slog.DiscardHandler))
	mon, err := check.NewMonitor(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	r.mon = mon
	r.plan = p
	r.syncChecks(nil, p)
	ids := map[string]string{}
	for _, vs := range p.Services {
		ids[vs.Description()] = vs.Reals[0].Checks[0].ID
	}
	suspended := func(desc string) bool {
		st, ok := mon.Stats(ids[desc])
		if !ok {
			t.Fatalf("no target for %s", desc)
		}
		if st.Suspended != r.hs.isSuspended(ids[desc]) {
			t.Errorf("%s: Monitor says suspended=%v, router %v", desc, st.Suspended, !st.Suspended)
		}
		return st.Suspended
	}
	expect := func(step string, want map[string]bool) {
		t.Helper()
		for desc, w := range want {
			if got := suspended(desc); got != w {
				t.Errorf("%s: %s suspended = %v, want %v", step, desc, got, w)
			}
		}
	}
	sync := func(local ...ifAddr) {
		r.hs.mu.Lock()
		r.hs.local = map[ifAddr]bool{}
		for _, a := range local {
			r.hs.local[a] = true
		}
		r.syncHASuspendLocked(p)
		r.hs.mu.Unlock()
	}
	a := netip.MustParseAddr
	sync(ifAddr{1, a("127.0.0.1")})
	expect("no VIP", map[string]bool{"tcp 10.0.0.10:80": true, "tcp 10.0.0.20:80": true, "tcp 10.0.0.31:80": true, "tcp 10.0.0.40:80": false})
	dump := string(r.checkDataText())
	if !strings.Contains(dump, "Using HA suspend") || !strings.Contains(dump, "Enabled = no") || !strings.Contains(dump, "Enabled = yes") {
		t.Errorf("data dump lacks HA suspend or Enabled lines:\n%s", dump)
	}

	sync(ifAddr{2, a("10.0.0.10")}, ifAddr{3, a("10.0.0.10")}, ifAddr{2, a("10.0.0.31")})
	expect("VIPs up", map[string]bool{"tcp 10.0.0.10:80": false, "tcp 10.0.0.20:80": false, "tcp 10.0.0.30:80": false, "tcp 10.0.0.40:80": false})
	sync(ifAddr{3, a("10.0.0.10")})
	expect("one interface lost the VIP", map[string]bool{"tcp 10.0.0.10:80": false, "tcp 10.0.0.20:80": true})
	sync()
	expect("all gone", map[string]bool{"tcp 10.0.0.10:80": true, "tcp 10.0.0.40:80": false})

	// A reload that takes ha_suspend off resumes the checks it suspended.
	mustWrite(t, path, []byte(strings.ReplaceAll(haSuspendConf, "    ha_suspend\n", "")))
	p2, err := translateFile(t, path)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.plan = p2
	r.mu.Unlock()
	r.syncChecks(p, p2)
	p = p2
	sync()
	expect("reloaded without ha_suspend", map[string]bool{"tcp 10.0.0.10:80": false, "tcp 10.0.0.20:80": false, "tcp 10.0.0.40:80": false})
}
