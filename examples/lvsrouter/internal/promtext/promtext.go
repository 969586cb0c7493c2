// Package promtext writes metrics in Prometheus's text exposition format
// (version 0.0.4) and serves them over HTTP, byte for byte as
// client_golang's registry and promhttp handler write the same counters
// and gauges: families sorted by name, a metric's labels by name, a
// family's metrics by their label values, values as strconv's shortest
// 'g' form, and gzip when the scraper prefers it.
//
// lvsrouter uses it instead of client_golang, whose packages' start-up
// (protobuf's descriptors among them) held about 5 MiB of every router's
// resident set for a handful of const metrics. Only counters and gauges
// without timestamps are written; that is all lvsrouter publishes.
package promtext

import (
	"bufio"
	"compress/gzip"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Type is a metric family's type.
type Type uint8

// The types lvsrouter publishes.
const (
	Counter Type = iota + 1
	Gauge
)

// String is the type as the # TYPE line writes it.
func (t Type) String() string {
	switch t {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	}
	return "untyped"
}

// A Set is the metrics of one scrape. The zero Set is empty and ready.
type Set struct {
	fams []*Family
}

// A Family is one metric name's help, type and samples.
type Family struct {
	name, help string
	typ        Type
	// order is the label names' places sorted by name; names those
	// names in that order.
	order   []int
	names   []string
	samples []sample
}

type sample struct {
	values []string // in names' order
	v      float64
}

// Family adds a family of metrics named name with the label names
// labels; each Add gives their values in the same order.
func (s *Set) Family(name, help string, t Type, labels ...string) *Family {
	f := &Family{name: name, help: help, typ: t, order: make([]int, len(labels))}
	for i := range f.order {
		f.order[i] = i
	}
	slices.SortStableFunc(f.order, func(a, b int) int { return strings.Compare(labels[a], labels[b]) })
	for _, i := range f.order {
		f.names = append(f.names, labels[i])
	}
	s.fams = append(s.fams, f)
	return f
}

// Add adds a sample with the label values values (one per label name
// given to Family, in that order).
func (f *Family) Add(v float64, values ...string) {
	sorted := make([]string, len(f.order))
	for i, j := range f.order {
		if j < len(values) {
			sorted[i] = values[j]
		}
	}
	f.samples = append(f.samples, sample{values: sorted, v: v})
}

// WriteTo writes the set in the text format. Families without samples
// are left out, as client_golang's registry leaves them out.
func (s *Set) WriteTo(w io.Writer) (int64, error) {
	bw := &countWriter{w: bufio.NewWriter(w)}
	fams := slices.Clone(s.fams)
	slices.SortStableFunc(fams, func(a, b *Family) int { return strings.Compare(a.name, b.name) })
	for _, f := range fams {
		if len(f.samples) == 0 {
			continue
		}
		slices.SortStableFunc(f.samples, func(a, b sample) int { return slices.Compare(a.values, b.values) })
		bw.str("# HELP " + f.name + " ")
		bw.escaped(f.help, false)
		bw.str("\n# TYPE " + f.name + " " + f.typ.String() + "\n")
		for _, s := range f.samples {
			bw.str(f.name)
			if len(f.names) > 0 {
				bw.str("{")
				for i, n := range f.names {
					if i > 0 {
						bw.str(",")
					}
					bw.str(n + `="`)
					bw.escaped(s.values[i], true)
					bw.str(`"`)
				}
				bw.str("}")
			}
			bw.str(" ")
			bw.buf = strconv.AppendFloat(bw.buf[:0], s.v, 'g', -1, 64)
			bw.bytes(bw.buf)
			bw.str("\n")
		}
	}
	if bw.err == nil {
		bw.err = bw.w.Flush()
	}
	return bw.n, bw.err
}

// countWriter writes to a buffered writer, counting, and keeps its
// first error.
type countWriter struct {
	w   *bufio.Writer
	n   int64
	err error
	buf []byte
}

func (c *countWriter) str(s string) {
	if c.err == nil {
		var n int
		n, c.err = c.w.WriteString(s)
		c.n += int64(n)
	}
}

func (c *countWriter) bytes(b []byte) {
	if c.err == nil {
		var n int
		n, c.err = c.w.Write(b)
		c.n += int64(n)
	}
}

// escaped writes s with backslash and newline escaped, and double quotes
// too in a label value, as the text format requires.
func (c *countWriter) escaped(s string, quote bool) {
	for s != "" {
		i := strings.IndexAny(s, "\\\n\"")
		if i < 0 {
			c.str(s)
			return
		}
		c.str(s[:i])
		switch s[i] {
		case '\\':
			c.str(`\\`)
		case '\n':
			c.str(`\n`)
		default:
			if quote {
				c.str(`\"`)
			} else {
				c.str(`"`)
			}
		}
		s = s[i+1:]
	}
}

// ContentType is the text format's media type as promhttp sends it. The
// names are written as they are, valid in the legacy character set:
// underscore escaping, which leaves such names unchanged.
const ContentType = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"

// Handler serves the set gather fills, anew for each request: in the
// text format whatever the Accept header asks (every Prometheus server
// accepts it, and promhttp falls back to it too), gzipped when Accept-Encoding prefers gzip to identity.
func Handler(gather func(*Set)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var s Set
		gather(&s)
		h := w.Header()
		h.Add("Vary", "Accept")
		h.Add("Vary", "Accept-Encoding")
		h.Set("Content-Type", ContentType)
		if encoding(r.Header.Values("Accept-Encoding")) != "gzip" {
			s.WriteTo(w)
			return
		}
		h.Set("Content-Encoding", "gzip")
		gz := gzip.NewWriter(w)
		s.WriteTo(gz)
		gz.Close()
	})
}

// encoding picks identity or gzip from Accept-Encoding: the one with
// the highest quality, identity on a tie, none ("") when the best
// quality is 0.
func encoding(accept []string) string {
	best, bestQ := "identity", -1.0
	all := specs(accept)
	for _, offer := range []string{"identity", "gzip"} {
		for _, s := range all {
			if s.q > bestQ && (s.value == "*" || strings.EqualFold(s.value, offer)) {
				best, bestQ = offer, s.q
			}
		}
	}
	if bestQ == 0 {
		return ""
	}
	return best
}

// spec is one element of an Accept or Accept-Encoding header.
type spec struct {
	value string
	q     float64
}

// specs splits header values into their elements, each with its quality
// (1 unless a valid q parameter says otherwise).
func specs(values []string) []spec {
	var out []spec
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			fields := strings.Split(part, ";")
			s := spec{value: strings.TrimSpace(fields[0]), q: 1}
			if s.value == "" {
				continue
			}
			for _, p := range fields[1:] {
				k, val, _ := strings.Cut(p, "=")
				if strings.TrimSpace(k) == "q" {
					if q, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil && q >= 0 && q <= 1 {
						s.q = q
					}
				}
			}
			out = append(out, s)
		}
	}
	return out
}
