package keepalivedconf_test

import (
	"fmt"
	"net/netip"

	"github.com/lvskit/lvskit/keepalivedconf"
)

func Example() {
	src := []byte(`# LB1
vrrp_instance RH_EXT {
    state MASTER
    interface eth0
    virtual_router_id 50
    priority 100     # highest wins
    virtual_ipaddress {
        10.0.0.1
    }
}
`)
	f, err := keepalivedconf.Parse("keepalived.conf", src)
	if err != nil {
		panic(err)
	}
	cfg, err := f.Config()
	if err != nil {
		panic(err)
	}
	in := cfg.Instances[0]
	fmt.Println(in.Name, in.State, in.VirtualRouterID, in.Priority, in.AdvertInt, in.VIPs[0].Prefix)

	// edits through the typed view change only the lines concerned
	if err := in.SetPriority(150); err != nil {
		panic(err)
	}
	if err := in.AddVIP(netip.MustParsePrefix("10.0.0.2/32")); err != nil {
		panic(err)
	}
	fmt.Print(string(f.Format()))
	// Output:
	// RH_EXT MASTER 50 100 1s 10.0.0.1/32
	// # LB1
	// vrrp_instance RH_EXT {
	//     state MASTER
	//     interface eth0
	//     virtual_router_id 50
	//     priority 150     # highest wins
	//     virtual_ipaddress {
	//         10.0.0.1
	//         10.0.0.2
	//     }
	// }
}

func ExampleConfig_Lint() {
	f, _ := keepalivedconf.Parse("k.conf", []byte("vrrp_instance A {\n state BACKUP\n interface eth0\n virtual_router_id 7\n priority 255\n}\n"))
	cfg, _ := f.Config()
	for _, d := range cfg.Lint() {
		fmt.Println(d)
	}
	// Output:
	// k.conf:1:1: (A) state BACKUP with priority 255: 255 means address owner, which is always master
}

// ParseFile reads a configuration with its includes, definitions and ~SEQ
// lines; Config is then the configuration keepalived reads.
func ExampleParseFile() {
	// a ParseConfig sets what keepalived takes from its command line and
	// environment; keepalivedconf.ParseFile(name) uses the defaults
	pc := &keepalivedconf.ParseConfig{
		ConfigID:  "lb1",
		LookupEnv: func(string) (string, bool) { return "lvs", true },
	}
	f, err := pc.ParseFile("testdata/expand/features.in")
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg, err := f.Config()
	if err != nil {
		fmt.Println(err)
	}
	for _, vs := range cfg.VirtualServers {
		fmt.Println(vs.Addr, vs.Protocol, vs.LBKind, vs.Stmt.Pos)
	}
	// Output:
	// 192.0.2.10:80 tcp NAT testdata/expand/features.in:38:1
	// 192.0.2.20:80 tcp  testdata/expand/inc/10-vs.conf:2:1
}

// A large file read a few top-level blocks at a time: CutTop cuts it,
// and each run of pieces is parsed and decoded in one Arena, which the
// next run reuses, so that only what the caller keeps of each run (here,
// the virtual servers' addresses) stays in memory.
func ExampleArena() {
	data := []byte(`virtual_server 10.0.0.1 80 {
    protocol TCP
    real_server 10.0.1.1 80 {
    }
}
virtual_server 10.0.0.2 80 {
    protocol TCP
    real_server 10.0.1.1 80 {
    }
}
virtual_server 10.0.0.3 80 {
    protocol TCP
    real_server 10.0.1.1 80 {
    }
}
`)
	var a keepalivedconf.Arena
	var addrs []string
	for _, pc := range keepalivedconf.CutTop(data) {
		f, err := (*keepalivedconf.ParseConfig)(nil).ParsePiecesIn(&a, "k.conf", []keepalivedconf.Piece{pc.Piece})
		if err != nil {
			fmt.Println(err)
			return
		}
		cfg, err := f.Config()
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, vs := range cfg.VirtualServers {
			addrs = append(addrs, vs.Addr.String()) // a copy: f is reused
		}
	}
	fmt.Println(addrs)
	// Output: [10.0.0.1:80 10.0.0.2:80 10.0.0.3:80]
}
