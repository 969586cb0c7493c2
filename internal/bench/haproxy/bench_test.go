package haproxybench

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	cparser "github.com/haproxytech/config-parser/v5"
	cpoptions "github.com/haproxytech/config-parser/v5/options"
	"github.com/lvskit/lvskit/haproxy"
)

var (
	bigOnce sync.Once
	bigCfg  []byte
)

// bigConfig generates 10,000 backends of 4 servers each, behind one
// frontend, in the style of the seed's chapter 5.
func bigConfig() []byte {
	bigOnce.Do(func() {
		var b strings.Builder
		b.WriteString("global\n  log 127.0.0.1 local2\n  maxconn 4000\n  daemon\n\n")
		b.WriteString("defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 10s\n  timeout client 1m\n  timeout server 1m\n\n")
		b.WriteString("frontend main\n  bind 127.0.0.1:8080\n  default_backend be0\n\n")
		for i := 0; i < 10000; i++ {
			fmt.Fprintf(&b, "backend be%d\n  balance roundrobin\n", i)
			for s := 0; s < 4; s++ {
				fmt.Fprintf(&b, "  server s%d 10.%d.%d.%d:80 check inter 2s rise 4 fall 3 weight %d\n", s, i>>8&255, i&255, s+1, s+1)
			}
			b.WriteString("\n")
		}
		bigCfg = []byte(b.String())
	})
	return bigCfg
}

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
