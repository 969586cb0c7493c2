package haproxy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
)

// checkBenchConfig is a configuration of n backends with 4 servers each,
// one frontend routing to them, in the guide's style.
func checkBenchConfig(n int) []byte {
	var b strings.Builder
	b.WriteString("global\n    maxconn 4000\n    log 127.0.0.1 local2\n\ndefaults\n    mode http\n    log global\n    option httplog\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\nfrontend main\n    bind 127.0.0.1:18085\n    default_backend be0\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "\nbackend be%d\n    balance roundrobin\n    option httpchk GET /health\n", i)
		for j := 0; j < 4; j++ {
			fmt.Fprintf(&b, "    server s%d 10.%d.%d.%d:80 check inter 2s rise 2 fall 3 weight %d\n", j, i/65536%256, i/256%256, i%256, j+1)
		}
	}
	return []byte(b.String())
}

// BenchmarkCheck reads and checks 10,000 backends with 4 servers each
// (ParseFile + Check), beside "haproxy -c" on the same file in the same
// run. haproxy's figure is wall time per run of the process.
func BenchmarkCheck(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.cfg")
	if err := os.WriteFile(path, checkBenchConfig(10000), 0o600); err != nil {
		b.Fatal(err)
	}
	b.Run("lvskit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := ParseFile(path)
			if err != nil {
				b.Fatal(err)
			}
			if w, err := c.Check(nil); err != nil || w != nil {
				b.Fatal(w, err)
			}
		}
	})
	b.Run("haproxy-c", func(b *testing.B) {
		bin := testenv.NeedTool(b, "haproxy")
		for b.Loop() {
			out, err := exec.Command(bin, "-c", "-f", path).CombinedOutput()
			if err != nil {
				b.Fatalf("%v\n%s", err, out)
			}
		}
	})
}
