package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/keepalivedconf"
)

// bigConf returns a configuration of n virtual servers with two TCP-checked
// real servers each, the size FACTS.md times keepalived -t on.
func bigConf(n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "virtual_server 10.%d.%d.1 80 {\n    delay_loop 6\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n", i>>8&255, i&255)
		for j := 1; j <= 2; j++ {
			fmt.Fprintf(&b, "    real_server 10.200.%d.%d 80 {\n        weight 1\n        TCP_CHECK {\n            connect_timeout 3\n        }\n    }\n", i>>6&255, (i&63)*4+j)
		}
		b.WriteString("}\n")
	}
	return []byte(b.String())
}

// nullOps is an IPVS that accepts every operation, so the benchmark
// measures lvsrouter and the Applier, not the kernel.
type nullOps struct{ ops int }

func (n *nullOps) Dump(context.Context) ([]ipvs.Service, error) { return nil, nil }
func (n *nullOps) Do(_ context.Context, ops []ipvs.Op) error    { n.ops += len(ops); return nil }

// BenchmarkRouter10k measures the router's pure work for 10,000 virtual
// servers × 2 real servers: reading the configuration (keepalivedconf),
// translating it, computing the desired IPVS state, and one health change
// carried through desired() and the Applier (which diffs against what it
// last applied, without a dump).
func BenchmarkRouter10k(b *testing.B) {
	const n = 10000
	data := bigConf(n)
	b.Run("Parse+Config", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f, err := keepalivedconf.Parse("big.conf", data)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := f.Config(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("keepalived-t", func(b *testing.B) {
		// The peer: keepalived 2.2.7 checking the same file (a process per
		// run, so this includes its start-up).
		testenv.NeedTool(b, "keepalived")
		path := filepath.Join(b.TempDir(), "big.conf")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if out, err := exec.Command("keepalived", "-t", "-f", path).CombinedOutput(); err != nil {
				b.Fatalf("keepalived -t: %v\n%s", err, out)
			}
		}
	})
	b.Run("lvsrouter-t", func(b *testing.B) {
		// lvsrouter -t's whole check on the same file: read, expand,
		// decode, translate, and the plan checked against the host and
		// every package (load), as for a start or a reload.
		path := filepath.Join(b.TempDir(), "big.conf")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := load(path, interfaceExists); err != nil {
				b.Fatal(err)
			}
		}
	})
	f, err := keepalivedconf.Parse("big.conf", data)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := f.Config()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Translate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Translate(cfg); err != nil {
				b.Fatal(err)
			}
		}
	})
	p, err := Translate(cfg)
	if err != nil {
		b.Fatal(err)
	}
	r := newRouter(slog.New(slog.DiscardHandler))
	r.plan = p
	b.Run("Desired", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if got := r.desired(); len(got) != n {
				b.Fatalf("%d services", len(got))
			}
		}
	})
	b.Run("HealthChange", func(b *testing.B) {
		ops := &nullOps{}
		ap := ipvs.NewApplier(ops)
		if _, err := ap.Apply(context.Background(), r.desired()); err != nil {
			b.Fatal(err)
		}
		id := p.Services[n/2].Reals[0].Checks[0].ID
		b.ReportAllocs()
		for b.Loop() {
			r.down[id] = !r.down[id]
			ch, err := ap.Apply(context.Background(), r.desired())
			if err != nil || ch.Len() != 1 {
				b.Fatalf("%d changes, %v", ch.Len(), err)
			}
		}
	})
}
