// Package benchdata generates the large inputs that lvskit's benchmarks
// share with the peer benchmarks in internal/bench, so that both measure
// the same bytes.
package benchdata

import (
	"fmt"
	"strings"
	"sync"
)

var (
	haproxyOnce sync.Once
	haproxyCfg  []byte
)

// HAProxyConfig returns 10,000 backends of 4 servers each, behind one
// frontend, in the style of the seed's chapter 5. It is built once; callers
// must not modify it.
func HAProxyConfig() []byte {
	haproxyOnce.Do(func() {
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
		haproxyCfg = []byte(b.String())
	})
	return haproxyCfg
}
