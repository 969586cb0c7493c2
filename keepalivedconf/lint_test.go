package keepalivedconf

import (
	"errors"
	"strings"
	"testing"
)

func TestLint(t *testing.T) {
	src := `vrrp_sync_group G {
    group {
        A
        B
    }
}
vrrp_instance A {
    state BACKUP
    interface eth0
    virtual_router_id 10
    priority 255
    advert_int 1
    unicast_src_ip 192.0.2.1
    unicast_peer {
        192.0.2.1
        192.0.2.2
    }
    virtual_ipaddress {
        192.0.2.100
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 10
    priority 255
    advert_int 2
    virtual_ipaddress {
        192.0.2.101
    }
}
virtual_server 192.0.2.100 80 {
    real_server 10.0.0.1 80 {
        weight 0
    }
    real_server 10.0.0.1 80 {
        weight 0
    }
}
`
	f, err := Parse("lint.conf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := f.Config()
	got := cfg.Lint()
	want := []string{
		"lint.conf:7:1: (A) state BACKUP with priority 255: 255 means address owner, which is always master",
		"lint.conf:7:1: (A) unicast_peer 192.0.2.1 is our own unicast_src_ip",
		"lint.conf:22:1: (B) virtual_router_id 10 is also used on interface eth0 by A (lint.conf:7:1)",
		"lint.conf:22:1: (B) advert_int 2s differs from 1s of A in sync group G",
		"lint.conf:31:1: every real server of virtual server 192.0.2.100:80 has weight 0: it receives no traffic",
		"lint.conf:35:5: real server 10.0.0.1:80 is listed twice in virtual server 192.0.2.100:80 (first at lint.conf:32:5)",
	}
	var msgs []string
	for _, d := range got {
		msgs = append(msgs, d.Error())
		if !errors.Is(d, ErrLint) {
			t.Errorf("%v does not wrap ErrLint", d)
		}
	}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lint:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
}
