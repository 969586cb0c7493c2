//go:build vm

package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// featuresConf exercises what the kernel must accept from a translated
// keepalived.conf: firewall-mark services of both families with
// persistence granularity, DR and TUN, a virtual_server_group range, IPv6,
// UDP, a sorry server standing in for a dead real server, and
// inhibit_on_failure keeping a dead one at weight 0.
const featuresConf = `virtual_server fwmark 80 {
    lb_algo wlc
    lb_kind DR
    persistence_timeout 300
    persistence_granularity 255.255.255.0
    real_server 10.1.0.11 {
        weight 2
    }
}

virtual_server fwmark 81 {
    lb_algo rr
    lb_kind TUN
    persistence_timeout 60
    persistence_granularity 64
    real_server fd00:1::11 {
    }
}

virtual_server_group WEB {
    10.0.0.20-21 80
}

virtual_server group WEB {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    delay_loop 1
    sorry_server 10.1.0.99
    real_server 10.9.0.1 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}

virtual_server fd00::10 443 {
    protocol TCP
    lb_algo sh
    lb_kind NAT
    real_server fd00:1::21 8443 {
    }
}

virtual_server 10.0.0.30 53 {
    protocol UDP
    lb_algo rr
    lb_kind DR
    delay_loop 1
    real_server 10.9.0.2 53 {
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`

// wantRules is featuresConf as ipvsadm -S -n prints it once the checks of
// the unreachable 10.9.0.x servers have failed.
const wantRules = `-A -t 10.0.0.20:80 -s rr
-a -t 10.0.0.20:80 -r 10.1.0.99:80 -m -w 1
-A -t 10.0.0.21:80 -s rr
-a -t 10.0.0.21:80 -r 10.1.0.99:80 -m -w 1
-A -u 10.0.0.30:53 -s rr
-a -u 10.0.0.30:53 -r 10.9.0.2:53 -g -w 0
-A -t [fd00::10]:443 -s sh
-a -t [fd00::10]:443 -r [fd00:1::21]:8443 -m -w 1
-A -f 80 -s wlc -p 300 -M 255.255.255.0
-a -f 80 -r 10.1.0.11:0 -g -w 2
-A -f 81 -6 -s rr -p 60 -M 64
-a -f 81 -6 -r [fd00:1::11]:0 -i -w 1 --tun-type ipip
`

// TestVMFeatures runs lvsrouter on featuresConf and compares the kernel's
// IPVS table, read back through lvskit's client, with what keepalived
// would have built.
func TestVMFeatures(t *testing.T) {
	testenv.NeedVM(t)
	lan := netns.NewSwitch(t)
	lb := netns.New(t)
	lan.Connect(lb, "eth0", netip.MustParsePrefix("10.0.0.2/24"))
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(conf, []byte(featuresConf), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := lb.StartEnv([]string{"LVSROUTER_AS_MAIN=1"}, self, "-f", conf)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("router log:\n%s", p.Output())
		}
	})
	var got string
	if !waitFor(60*time.Second, func() bool {
		// The real ipvsadm reads the kernel's state in the router's
		// namespace.
		out, err := lb.Command(t.Context(), "ipvsadm", "-S", "-n").CombinedOutput()
		got = string(out)
		if err != nil {
			got += err.Error()
			return false
		}
		return got == wantRules
	}) {
		t.Fatalf("IPVS rules:\n%s\nwant:\n%s", got, wantRules)
	}
	t.Logf("IPVS built from the keepalived.conf features (ipvsadm -S -n):\n%s", strings.TrimSpace(got))
}
