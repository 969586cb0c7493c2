package haproxy

import (
	"testing"

	"github.com/lvskit/lvskit/internal/benchdata"
	"github.com/lvskit/lvskit/internal/testenv"
)

// bigConfig is the shared 10,000 x 4 input (internal/benchdata).
func bigConfig() []byte { return benchdata.HAProxyConfig() }

// BenchmarkParseFormat measures parse + format of the 10,000 x 4 config.
// internal/bench/haproxy measures haproxytech/config-parser beside it in
// the same run (a module of its own keeps that peer out of go.mod).
func BenchmarkParseFormat(b *testing.B) {
	data := bigConfig()
	b.Run("lvskit", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			c, err := Parse("big.cfg", data)
			if err != nil {
				b.Fatal(err)
			}
			if out := c.Format(); len(out) != len(data) {
				b.Fatal("format size differs")
			}
		}
	})
	b.Run("lvskit-typed", func(b *testing.B) {
		// Parse, read every server through the typed model, format.
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			c, err := Parse("big.cfg", data)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for _, p := range c.Backends() {
				n += len(p.Servers())
			}
			if n != 40000 {
				b.Fatalf("%d servers", n)
			}
			c.Format()
		}
	})
}

// TestBigConfigRoundTrip keeps the benchmark input honest.
func TestBigConfigRoundTrip(t *testing.T) {
	testenv.SkipShort(t, "large input")
	data := bigConfig()
	c, err := Parse("big.cfg", data)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Format()) != string(data) {
		t.Fatal("round trip differs")
	}
	if n := len(c.Backends()); n != 10000 {
		t.Fatalf("%d backends", n)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
