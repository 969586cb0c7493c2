package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lvskit/lvskit/keepalivedconf"
)

// FuzzTranslate feeds arbitrary configurations through the parser,
// Translate and desired(): whatever keepalivedconf accepts, lvsrouter
// either translates or refuses with an error, and never panics or runs
// away (address ranges are bounded).
func FuzzTranslate(f *testing.F) {
	addConfSeeds(f)
	f.Add([]byte("virtual_server_group G {\n  fd00::1-ffff 80\n  10.0.0.1-255 80\n  fwmark 7\n}\nvirtual_server group G {\n  protocol TCP\n  persistence_granularity 24\n  sorry_server 10.9.9.9\n  quorum 5\n  hysteresis 9\n  real_server 10.1.0.1 {\n  }\n}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := keepalivedconf.Parse("fuzz.conf", data)
		if err != nil {
			return
		}
		cfg, _ := file.Config()
		if cfg == nil {
			return
		}
		p, err := Translate(cfg)
		if err != nil {
			return
		}
		r := newRouter(slog.New(slog.DiscardHandler))
		r.plan = p
		for range 2 {
			if got := r.desired(); len(got) != len(p.Services) {
				t.Fatalf("desired: %d services for %d planned", len(got), len(p.Services))
			}
		}
		units(p)
	})
}

// FuzzStartRead: the start's batched read (in batches of one virtual
// server) gives the full read's plan, or reads in full.
func FuzzStartRead(f *testing.F) {
	addConfSeeds(f)
	defer func(n, m int) { readBatchVS, readBatchMin = n, m }(readBatchVS, readBatchMin)
	readBatchVS, readBatchMin = 1, 1
	f.Fuzz(func(t *testing.T, data []byte) {
		got, blocks, n := readBatches("fuzz.conf", data, anyInterface)
		if n == 0 {
			return
		}
		want, _, err := loadData("fuzz.conf", data, anyInterface)
		if err != nil {
			t.Fatalf("read in %d batches; in full: %v", n, err)
		}
		if d := planDiff(want, got); d != "" {
			t.Fatalf("plan differs from the full read's (-full +batches):\n%s", d)
		}
		// The blocks found from the pieces are the full tree's.
		if f, err := keepalivedconf.Parse("fuzz.conf", data); err == nil && blocks != nil {
			if all, why := topBlocks(data, f); why == "" && !slices.Equal(blocks, all) {
				t.Fatalf("blocks %v, the full read's %v", blocks, all)
			}
		}
	})
}

// addConfSeeds adds the testdata configurations as seeds.
func addConfSeeds(f *testing.F) {
	for _, glob := range []string{"testdata/*.conf", "testdata/features.d/*.conf", "../../keepalivedconf/testdata/seed/*.conf"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
}
