package haproxy

import (
	"errors"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"0": 0, "10": 10 * time.Millisecond, "100us": 100 * time.Microsecond, "5ms": 5 * time.Millisecond,
		"2s": 2 * time.Second, "1m": time.Minute, "3h": 3 * time.Hour, "1d": 24 * time.Hour,
		"24d": 24 * 24 * time.Hour, "2147483647": 2147483647 * time.Millisecond,
	}
	for in, want := range good {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "s", "1x", "1.5s", "-1s", "25d", "99999999999999999999", " 1s"} {
		if _, err := ParseDuration(in); err == nil || errors.Is(err, ErrTrailingUnit) {
			t.Errorf("ParseDuration(%q) = %v, want a hard error", in, err)
		}
	}
	if d, err := ParseDuration("2sec"); d != 2*time.Second || !errors.Is(err, ErrTrailingUnit) {
		t.Errorf("2sec = %v, %v", d, err)
	}
	if d, err := ParseDuration("10mss"); d != 10*time.Millisecond || !errors.Is(err, ErrTrailingUnit) {
		t.Errorf("10mss = %v, %v", d, err)
	}
	for _, d := range []time.Duration{time.Microsecond, 1500 * time.Microsecond, time.Millisecond, 90 * time.Second, time.Hour, 48 * time.Hour, 61 * time.Minute} {
		if got, err := ParseDuration(FormatDuration(d)); err != nil || got != d {
			t.Errorf("FormatDuration(%v) = %q reads back as %v, %v", d, FormatDuration(d), got, err)
		}
	}
	if FormatDuration(90*time.Second) != "90s" || FormatDuration(2*time.Minute) != "2m" {
		t.Error("FormatDuration picks the wrong unit")
	}
}

func TestParseSize(t *testing.T) {
	good := map[string]uint64{"0": 0, "512": 512, "16k": 16 << 10, "16K": 16 << 10, "2m": 2 << 20, "1G": 1 << 30}
	for in, want := range good {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "k", "1t", "1kb", "1.5k", "99999999999999999999999"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
	for _, n := range []uint64{0, 1, 1024, 3 << 20, 5 << 30, 1025} {
		if got, _ := ParseSize(FormatSize(n)); got != n {
			t.Errorf("FormatSize(%d) = %q", n, FormatSize(n))
		}
	}
}

func TestSizeAndDefaultServer(t *testing.T) {
	c := mustParse(t, []byte("global\n  tune.bufsize 16k\nbackend b\n  default-server inter 3s fall 2 no-check\n  server s 1.2.3.4:80\n"))
	g := c.Global()
	if n, ok, err := g.Size("tune.bufsize"); n != 16384 || !ok || err != nil {
		t.Fatalf("bufsize = %d %v %v", n, ok, err)
	}
	g.SetSize(16384, "tune.bufsize")
	g.SetSize(1<<20, "tune.maxrewrite")
	ds, l, err := c.Backend("b").DefaultServer()
	if err != nil || l == nil || ds.Inter != 3*time.Second || ds.Fall != 2 || ds.Check != Off {
		t.Fatalf("default-server = %+v %v", ds, err)
	}
	want := "global\n  tune.bufsize 16k\n  tune.maxrewrite 1m\nbackend b\n  default-server inter 3s fall 2 no-check\n  server s 1.2.3.4:80\n"
	if got := string(c.Format()); got != want {
		t.Fatalf("got %q", got)
	}
}
