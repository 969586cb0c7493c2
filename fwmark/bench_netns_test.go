//go:build netns

package fwmark

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// BenchmarkApply replaces a table of 1000 rules (2000 elements) with
// another, alternating, through google/nftables (lvskit) and through the
// nft binary fed NftText (the peer); "unchanged" is re-applying the state
// that is already installed, which only reads and compares.
func BenchmarkApply(b *testing.B) {
	testenv.NeedRoot(b)
	testenv.NeedTool(b, "nft")
	ctx := context.Background()
	sets := [2]Rules{manyRules(1000, 1), manyRules(1000, 5000)}

	b.Run("lvskit", func(b *testing.B) {
		ns := netns.New(b)
		tab, err := NewTable(&TableConfig{NetNS: ns.Path()})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if changed, err := tab.Apply(ctx, sets[i%2]); err != nil || !changed {
				b.Fatal(changed, err)
			}
			i++
		}
	})
	b.Run("nft-f", func(b *testing.B) {
		ns := netns.New(b)
		var files [2]string
		for i, rs := range sets {
			text, err := NftText(rs, "")
			if err != nil {
				b.Fatal(err)
			}
			files[i] = filepath.Join(b.TempDir(), "rules.nft")
			if err := os.WriteFile(files[i], []byte(text), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if out, err := ns.Command(ctx, "nft", "-f", files[i%2]).CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
			i++
		}
	})
	b.Run("lvskit-unchanged", func(b *testing.B) {
		ns := netns.New(b)
		tab, err := NewTable(&TableConfig{NetNS: ns.Path()})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tab.Apply(ctx, sets[0]); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if changed, err := tab.Apply(ctx, sets[0]); err != nil || changed {
				b.Fatal(changed, err)
			}
		}
	})
}
