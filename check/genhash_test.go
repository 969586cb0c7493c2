package check_test

import (
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/internal/testenv"
)

// TestDigestMatchesGenhash compares HTTP.Digest values with keepalived's
// own genhash for the same URLs, plain and over TLS.
func TestDigestMatchesGenhash(t *testing.T) {
	noLeaks(t)
	genhash := testenv.NeedTool(t, "genhash")
	for _, tlsOn := range []bool{false, true} {
		_, addr, _ := newHTTP(t, tlsOn)
		for _, path := range []string{"/", "/host", "/big"} {
			args := []string{"-s", addr.Addr().String(), "-p", strconv.Itoa(int(addr.Port())), "-u", path, "-t", "5"}
			if tlsOn {
				args = append([]string{"-S"}, args...)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			out, err := exec.CommandContext(ctx, genhash, args...).CombinedOutput()
			cancel()
			if err != nil {
				t.Fatalf("genhash %v: %v\n%s", args, err, out)
			}
			m := regexp.MustCompile(`(?m)^([0-9a-f]{32})$`).FindSubmatch(out)
			if m == nil {
				t.Fatalf("genhash %v printed no digest:\n%s", args, out)
			}
			want := string(m[1])
			c := check.HTTP{Addr: addr, Path: path, TLS: tlsOn, Digest: want, MaxBody: 4 << 20}
			r := c.Check(context.Background())
			if !r.Up {
				t.Errorf("tls=%v %s: genhash says %s, our check: %+v", tlsOn, path, want, r)
			}
		}
	}
}
