package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckDataText prints keepalived_check.data for a service whose
// second real server has failed its check: the global section for the
// checker process, the virtual server, both real servers with their
// state, and the health checkers, in keepalived 2.2.7's layout
// (TestVMDataDumpDifferential compares it with keepalived's own).
func TestCheckDataText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	mustWrite(t, path, []byte(`global_defs {
    router_id lb7
    vrrp_strict
}
virtual_server 10.0.0.10 80 {
    delay_loop 2
    lb_algo wrr
    lb_kind DR
    protocol TCP
    real_server 10.1.0.11 80 {
        weight 3
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.1.0.12 80 {
        TCP_CHECK {
            connect_timeout 2
            retry 4
        }
    }
}
`))
	p, err := translateFile(t, path)
	if err != nil {
		t.Fatal(err)
	}
	r := &Router{plan: p, down: map[string]bool{}, weight: map[string]int{}}
	r.down[p.Services[0].Reals[1].Checks[0].ID] = true
	got := string(r.checkDataText())
	for _, want := range []string{
		"------< Global definitions >------\n Network namespace = (default)\n",
		" Router ID = lb7\n",
		" VRRP strict mode = true\n",
		" Gratuitous ARP lower priority delay = 4294967295\n",
		"------< LVS Topology >------\n System is compiled with LVS v1.2.1\n ------< Virtual server >------\n VS VIP = 10.0.0.10, VPORT = 80\n   Address family = inet\n",
		"   delay_loop = 2.000000\n   lvs_sched = wrr\n",
		"   protocol = TCP\n",
		"   default forwarding method = DR\n",
		"   RIP = 10.1.0.11, RPORT = 80, WEIGHT = 3 EFF WEIGHT = 3\n   forwarding method = DR\n",
		"   alive = 0\n   num failed checkers = 1\n   RS set = 0\n",
		" [10.0.0.10]:tcp:80 -> [10.1.0.12]:tcp:80\n   Enabled = yes\n   Up = no\n",
		"   Retries = 4\n",
		"     Dest = [10.1.0.12]:80\n     Timeout = 2.000000\n   Keepalive method = TCP_CHECK\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q", want)
		}
	}
	if strings.Contains(got, "Default interface") {
		t.Error("the checker's global section has the VRRP process's Default interface line")
	}
	if t.Failed() {
		t.Logf("got:\n%s", got)
	}
}
