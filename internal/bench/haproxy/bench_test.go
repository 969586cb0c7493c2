package haproxybench

import (
	"testing"

	"github.com/lvskit/lvskit/internal/benchdata"

	cparser "github.com/haproxytech/config-parser/v5"
	cpoptions "github.com/haproxytech/config-parser/v5/options"
	"github.com/lvskit/lvskit/haproxy"
)

// bigConfig is the shared 10,000 x 4 input (internal/benchdata).
func bigConfig() []byte { return benchdata.HAProxyConfig() }

// BenchmarkParseFormat measures parse + format of the 10,000 x 4 config
// with lvskit and with haproxytech/config-parser in the same run.
func BenchmarkParseFormat(b *testing.B) {
	data := bigConfig()
	b.Run("lvskit", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			c, err := haproxy.Parse("big.cfg", data)
			if err != nil {
				b.Fatal(err)
			}
			if out := c.Format(); len(out) != len(data) {
				b.Fatal("format size differs")
			}
		}
	})
	b.Run("config-parser-v5", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		s := string(data)
		for b.Loop() {
			p, err := cparser.New(cpoptions.String(s))
			if err != nil {
				b.Fatal(err)
			}
			if out := p.String(); len(out) == 0 {
				b.Fatal("empty output")
			}
		}
	})
}
