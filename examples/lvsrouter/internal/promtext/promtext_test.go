package promtext

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// family is a test family, written both ways.
type family struct {
	name, help string
	typ        Type
	labels     []string
	samples    []testSample
}

type testSample struct {
	v      float64
	values []string
}

// collector gives client_golang the families as const metrics.
type collector []family

func (collector) Describe(chan<- *prometheus.Desc) {}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, f := range c {
		d := prometheus.NewDesc(f.name, f.help, f.labels, nil)
		vt := prometheus.CounterValue
		if f.typ == Gauge {
			vt = prometheus.GaugeValue
		}
		for _, s := range f.samples {
			ch <- prometheus.MustNewConstMetric(d, vt, s.v, s.values...)
		}
	}
}

func (c collector) set() *Set {
	var s Set
	for _, f := range c {
		pf := s.Family(f.name, f.help, f.typ, f.labels...)
		for _, x := range f.samples {
			pf.Add(x.v, x.values...)
		}
	}
	return &s
}

// promhttpText is what promhttp serves for c to a scraper that accepts
// the text format, uncompressed.
func promhttpText(t testing.TB, c collector) (string, http.Header) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("promhttp: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String(), rec.Header()
}

func ours(t testing.TB, c collector) string {
	var b bytes.Buffer
	n, err := c.set().WriteTo(&b)
	if err != nil || n != int64(b.Len()) {
		t.Fatalf("WriteTo: %d, %v (wrote %d)", n, err, b.Len())
	}
	return b.String()
}

// TestSameAsClientGolang: lvsrouter's kinds of families (labels out of
// name order, values needing escapes, large counters, special floats,
// empty families), written as promhttp writes them.
func TestSameAsClientGolang(t *testing.T) {
	c := collector{
		{name: "keepalived_vrrp_state", help: "VRRP instance state: 0 INIT, 1 BACKUP.", typ: Gauge,
			labels: []string{"iname", "intf", "vrid"},
			samples: []testSample{
				{2, []string{"VI_2", "eth0", "52"}},
				{1, []string{"VI_1", "eth0", "51"}},
				{0, []string{`a"b\c` + "\nd", "eth1", "7"}},
			}},
		{name: "lvsrouter_real_server_up", help: "1 while \"up\"\\ok\nnext", typ: Gauge,
			labels: []string{"service", "real"},
			samples: []testSample{
				{1, []string{"[10.0.0.1]:tcp:80", "[10.1.0.2]:tcp:80"}},
				{0, []string{"[10.0.0.1]:tcp:80", "[10.1.0.1]:tcp:80"}},
				{1, []string{"[fd00::1]:tcp:80", "[fd00::2]:tcp:80"}},
			}},
		{name: "lvsrouter_ipvs_destination_in_bytes_total", help: "bytes", typ: Counter,
			labels: []string{"service", "real"},
			samples: []testSample{
				{1 << 40, []string{"s", "r1"}},
				{123456789, []string{"s", "r2"}},
				{1e21, []string{"s", "r3"}},
				{-1, []string{"s", "r4"}},
				{0.1, []string{"s", "r5"}},
			}},
		{name: "lvsrouter_ipvs_up", help: "1 when read.", typ: Gauge, samples: []testSample{{1, nil}}},
		{name: "a_special", help: "", typ: Gauge, labels: []string{"k"},
			samples: []testSample{{math.Inf(1), []string{"inf"}}, {math.Inf(-1), []string{"minf"}}, {math.NaN(), []string{"nan"}}}},
		{name: "lvsrouter_bgp_announced", help: "none yet", typ: Gauge, labels: []string{"prefix"}},
	}
	want, _ := promhttpText(t, c)
	if got := ours(t, c); got != want {
		t.Errorf("ours:\n%s\npromhttp:\n%s", got, want)
	}
}

// TestRandomSameAsClientGolang compares random families.
func TestRandomSameAsClientGolang(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		c := randomFamilies(r)
		want, _ := promhttpText(t, c)
		if got := ours(t, c); got != want {
			t.Fatalf("case %d:\nours:\n%s\npromhttp:\n%s", i, got, want)
		}
	}
}

func randomFamilies(r *rand.Rand) collector {
	alphabet := []string{"a", "b", "Z", "0", `"`, `\`, "\n", " ", "é", "_", ","}
	str := func(n int) string {
		var b strings.Builder
		for range r.IntN(n) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	values := []float64{0, 1, -1, 0.5, 1e6, 1e21, 1 << 53, 3.14159, math.Inf(1), math.NaN(), 42, 1e-7}
	var c collector
	for i := range 1 + r.IntN(4) {
		f := family{name: fmt.Sprintf("m%d_%s", r.IntN(100), []string{"x", "y", "z"}[i%3]), help: str(8), typ: Type(1 + r.IntN(2))}
		for j := range r.IntN(4) {
			f.labels = append(f.labels, fmt.Sprintf("%c%d", 'a'+rune(r.IntN(26)), j))
		}
		seen := map[string]bool{}
		for range r.IntN(6) {
			s := testSample{v: values[r.IntN(len(values))]}
			for range f.labels {
				s.values = append(s.values, str(5))
			}
			if k := strings.Join(s.values, "\x00"); !seen[k] {
				seen[k] = true
				f.samples = append(f.samples, s)
			}
		}
		dup := false
		for _, g := range c {
			dup = dup || g.name == f.name
		}
		if !dup {
			c = append(c, f)
		}
	}
	return c
}

// FuzzSameAsClientGolang: any help text, label value and value is
// written as client_golang writes it.
func FuzzSameAsClientGolang(f *testing.F) {
	f.Add("help", `va"l`, "v\\2", 1.5)
	f.Add("", "", "x", math.Inf(-1))
	f.Fuzz(func(t *testing.T, help, v1, v2 string, x float64) {
		if !utf8.ValidString(help) || !utf8.ValidString(v1) || !utf8.ValidString(v2) || v1 == v2 {
			return // client_golang refuses invalid UTF-8 and duplicates
		}
		c := collector{{name: "m_total", help: help, typ: Counter, labels: []string{"z", "a"},
			samples: []testSample{{x, []string{v1, v2}}, {1, []string{v2, v1}}}}}
		want, _ := promhttpText(t, c)
		if got := ours(t, c); got != want {
			t.Fatalf("ours:\n%q\npromhttp:\n%q", got, want)
		}
	})
}

// TestHandlerAsPromhttp: the same media type and Vary headers, and gzip
// exactly when promhttp picks it.
func TestHandlerAsPromhttp(t *testing.T) {
	c := collector{{name: "up", help: "h", typ: Gauge, samples: []testSample{{1, nil}}}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	theirs := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	mine := Handler(func(s *Set) { *s = *c.set() })
	for _, ae := range []string{"", "gzip", "identity", "gzip, identity", "identity;q=0.5, gzip",
		"*", "gzip;q=0", "br", "deflate, gzip;q=1.0, *;q=0.5", "gzip;q=0.3, identity;q=0.2"} {
		for _, accept := range []string{"", "text/plain;version=0.0.4;q=1,*/*;q=0.1"} {
			get := func(h http.Handler) (*httptest.ResponseRecorder, string) {
				req := httptest.NewRequest("GET", "/metrics", nil)
				if ae != "" {
					req.Header.Set("Accept-Encoding", ae)
				}
				if accept != "" {
					req.Header.Set("Accept", accept)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				body := rec.Body.Bytes()
				if rec.Header().Get("Content-Encoding") == "gzip" {
					zr, err := gzip.NewReader(bytes.NewReader(body))
					if err != nil {
						t.Fatal(err)
					}
					body, _ = io.ReadAll(zr)
				}
				return rec, string(body)
			}
			a, abody := get(mine)
			b, bbody := get(theirs)
			for _, h := range []string{"Content-Type", "Content-Encoding"} {
				if a.Header().Get(h) != b.Header().Get(h) {
					t.Errorf("Accept-Encoding %q, Accept %q: %s %q, promhttp %q", ae, accept, h, a.Header().Get(h), b.Header().Get(h))
				}
			}
			if got, want := a.Header().Values("Vary"), b.Header().Values("Vary"); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("Vary %q, promhttp %q", got, want)
			}
			if abody != bbody || a.Code != b.Code {
				t.Errorf("Accept-Encoding %q: %d %q, promhttp %d %q", ae, a.Code, abody, b.Code, bbody)
			}
		}
	}
}

// TestGzipAnyCase: content codings are case-insensitive (RFC 9110
// 8.4.1); promhttp matches "gzip" only in lower case.
func TestGzipAnyCase(t *testing.T) {
	for _, ae := range []string{"GZIP", "Gzip;q=0.9"} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.Header.Set("Accept-Encoding", ae)
		rec := httptest.NewRecorder()
		Handler(func(s *Set) { s.Family("up", "h", Gauge).Add(1) }).ServeHTTP(rec, req)
		if rec.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("%q: Content-Encoding %q", ae, rec.Header().Get("Content-Encoding"))
		}
	}
}

// ExampleSet writes two families.
func ExampleSet() {
	var s Set
	up := s.Family("lvsrouter_real_server_up", "1 while a real server's checks pass.", Gauge, "service", "real")
	up.Add(1, "[10.0.0.1]:tcp:80", "[10.1.0.1]:tcp:80")
	s.Family("lvsrouter_ipvs_up", "1 when the last read of IPVS succeeded.", Gauge).Add(1)
	var b strings.Builder
	s.WriteTo(&b)
	fmt.Print(b.String())
	// Output:
	// # HELP lvsrouter_ipvs_up 1 when the last read of IPVS succeeded.
	// # TYPE lvsrouter_ipvs_up gauge
	// lvsrouter_ipvs_up 1
	// # HELP lvsrouter_real_server_up 1 while a real server's checks pass.
	// # TYPE lvsrouter_real_server_up gauge
	// lvsrouter_real_server_up{real="[10.1.0.1]:tcp:80",service="[10.0.0.1]:tcp:80"} 1
}
