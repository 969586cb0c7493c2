package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/keepalivedconf"
)

// TestTranslateParallelEqualsSequential: virtual servers translated at the
// same time on several processors give the plan, warnings and errors of a
// translation one after the other, in configuration order.
func TestTranslateParallelEqualsSequential(t *testing.T) {
	var b strings.Builder
	// A group of ten addresses: its virtual servers give ten services
	// each, and the run holding them more services than its share of the
	// array (one per virtual server).
	b.WriteString("virtual_server_group TEN {\n    10.255.0.1-10 80\n}\n")
	n := 3 * parallelVSMin
	for i := range n {
		switch {
		case i%7 == 3: // refused: a group that is not defined
			fmt.Fprintf(&b, "virtual_server group G%d {\n", i)
		case i >= parallelVSMin && i < parallelVSMin+parallelVSMin/2 && i%7 == 5:
			b.WriteString("virtual_server group TEN {\n")
		default:
			fmt.Fprintf(&b, "virtual_server 10.%d.%d.1 80 {\n", i/250, i%250)
		}
		switch i % 7 {
		case 1: // warned: no lb_algo
			b.WriteString("    lb_kind NAT\n    protocol TCP\n")
		case 2: // warned: quorum above the total weight
			b.WriteString("    lb_algo rr\n    lb_kind DR\n    protocol TCP\n    quorum 9\n")
		default:
			b.WriteString("    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n")
		}
		fmt.Fprintf(&b, "    real_server 192.168.%d.%d 8080 {\n        weight %d\n        TCP_CHECK {\n            connect_timeout 3\n        }\n    }\n}\n", i/250, i%250+1, i%5+1)
	}
	f, err := keepalivedconf.Parse("keepalived.conf", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	translate := func(procs int) (string, string) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		p, err := Translate(cfg)
		if p == nil {
			t.Fatalf("GOMAXPROCS %d: no plan (%v)", procs, err)
		}
		js, jerr := json.Marshal(p)
		if jerr != nil {
			t.Fatal(jerr)
		}
		return string(js), fmt.Sprint(err)
	}
	seq, seqErr := translate(1)
	if !strings.Contains(seqErr, "keepalived.conf:") || !strings.Contains(seq, "reducing quorum") || !strings.Contains(seq, "without lb_algo") {
		t.Fatalf("the configuration should give warnings and errors; errors: %.300s", seqErr)
	}
	for _, procs := range []int{2, 3, 8} {
		par, parErr := translate(procs)
		if par != seq {
			t.Errorf("GOMAXPROCS %d: the plan differs from the sequential translation", procs)
		}
		if parErr != seqErr {
			t.Errorf("GOMAXPROCS %d: errors differ:\n%.500s\nwant\n%.500s", procs, parErr, seqErr)
		}
	}
}
