package keepalivedconf

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// FuzzExpand feeds random include trees and definitions to the expander
// with a step budget: the input is up to four files separated by NUL bytes,
// /fz/f0.conf (the one read) to /fz/f3.conf, which may include each other
// and themselves. Whatever they hold, the expansion stays within its
// limits: steps, lines, bytes and files read.
func FuzzExpand(f *testing.F) {
	for _, seed := range []string{
		"include f0.conf\ninclude f0.conf\n",
		"include f1.conf\nglobal_defs {\n router_id $ID\n}\n\x00$ID=r1\ninclude f*.conf\n",
		"~SEQ(i,1,4000000) ~SEQ(j,1,4000000) $X=$i\n",
		"$A=x\n~LST(a,1,2,3) ~LST(b,1,2,3) ~LST(c,1,2,3) $A=y\n",
		"$D0=x 1\\\nx 2\n$D1=$D0\\\n$D0\n$D2=$D1\\\n$D1\nglobal_defs {\n$D2\n}\n",
		"include {f1,f2,f3}.conf\n\x00include f2.conf\n\x00include f3.conf\n\x00include f1.conf\n",
		"@lb1 include f1.conf\n@^lb1 $X=${_INSTANCE}\nvirtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n }\n}\n\x00~SEQx(i,1,16) a $i\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parts := bytes.SplitN(data, []byte{0}, 4)
		files := map[string][]byte{}
		for i, p := range parts {
			files[filepath.Join("/fz", "f"+strconv.Itoa(i)+".conf")] = p
		}
		lim := Limits{MaxSteps: 20000, MaxLines: 2000, MaxBytes: 256 << 10, MaxIncludes: 64,
			MaxIncludesPerFile: 16, MaxIncludeDepth: 8, MaxNesting: 100, MaxErrors: 50}
		c := &ParseConfig{ConfigID: "lb1", Limits: lim}
		reads := 0
		c.readFile = func(name string, max int64) (string, error) {
			reads++
			if d, ok := files[name]; ok {
				return string(d), nil
			}
			return "", os.ErrNotExist
		}
		c.glob = func(pattern string) ([]string, error) {
			var out []string
			for name := range files {
				if ok, err := filepath.Match(pattern, name); err != nil {
					return nil, err
				} else if ok {
					out = append(out, name)
				}
			}
			return out, nil
		}
		r := c.resolved()
		file, _ := r.Parse("/fz/f0.conf", files["/fz/f0.conf"])
		ex := newExpander(r)
		ex.run(file, string(files["/fz/f0.conf"]))
		x := ex.result("/fz/f0.conf")
		if ex.steps > lim.MaxSteps+1 || ex.lines > lim.MaxLines+1 || int64(ex.out.Len()) > lim.MaxBytes || reads > lim.MaxIncludes+1 {
			t.Fatalf("beyond limits: %d steps, %d lines, %d bytes, %d reads", ex.steps, ex.lines, ex.out.Len(), reads)
		}
		if len(x.syntax) > lim.MaxErrors {
			t.Fatalf("%d errors", len(x.syntax))
		}
		if cfg, _ := x.Config(); cfg != nil {
			cfg.Lint()
		}
	})
}
