package fwmark

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"net/netip"
)

const seedConf = `# HTTP and HTTPS as one IPVS service (seed 3.4)
table lvskit
mark 80 tcp 192.168.76.24/32 80,443
# FTP control and passive data ports (seed 3.5)
mark 21 tcp 192.168.76.24 21   # control
mark 21 tcp 192.168.76.24 10000-20000
`

func TestParseSeed(t *testing.T) {
	c, err := Parse("seed.conf", []byte(seedConf))
	if err != nil {
		t.Fatal(err)
	}
	if c.Table != "lvskit" {
		t.Errorf("table %q", c.Table)
	}
	if d := cmp.Diff(seedRules(), c.Rules, cmpIP); d != "" {
		t.Error(d)
	}
	if d := cmp.Diff([]int{3, 5, 6}, c.Lines); d != "" {
		t.Error(d)
	}
	// Format prints what Parse reads back unchanged.
	c2, err := Parse("x", []byte(c.Format()))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(c.Rules, c2.Rules, cmpIP); d != "" {
		t.Error(d)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in, msg string
		want    error
	}{
		{"mark 0 tcp 10.0.0.1 80", "f.conf:1:6: fwmark: mark must not be 0", ErrMarkZero},
		{"mark 1 tcp 10.0.0.1 80,0", "f.conf:1:24: fwmark: port must not be 0", ErrPortZero},
		{"mark 1 icmp 10.0.0.1 80", `f.conf:1:8: fwmark: unsupported protocol: "icmp" (want tcp, udp or sctp)`, ErrProtocol},
		{"\n\nmark 1 tcp 10.0.0.1/33 80", `f.conf:3:12: fwmark: syntax error: bad destination "10.0.0.1/33"`, ErrSyntax},
		{"mark 1 tcp 10.0.0.1 80\nmark 2 tcp 10.0.0.0/8 1-100", "f.conf:2: rules[1].ports[0]: fwmark: overlapping rules set different marks: tcp port 80 also matches rules[0] (mark 1) but sets mark 2", ErrOverlap},
		{"mark 1 tcp 10.0.0.1/8 1-100", "f.conf:1: rules[0].dst: fwmark: prefix has host bits set: 10.0.0.1/8 (did you mean 10.0.0.0/8?)", ErrHostBits},
		{"mark 1 tcp ::ffff:10.0.0.1 1", "f.conf:1: rules[0].dst: fwmark: address family mismatch: ::ffff:10.0.0.1/128 is an IPv4-mapped IPv6 address; write the IPv4 address", ErrFamily},
		{"bogus", `f.conf:1:1: fwmark: syntax error: unknown keyword "bogus" (want mark or table)`, ErrSyntax},
		{"table a\ntable b", "f.conf:2:1: fwmark: syntax error: table already set on line 1", ErrSyntax},
		{"  mark 1 tcp", "f.conf:1:3: fwmark: syntax error: want: mark MARK PROTOCOL DESTINATION PORTS", ErrSyntax},
	}
	for _, tt := range tests {
		_, err := Parse("f.conf", []byte(tt.in))
		if err == nil || err.Error() != tt.msg {
			t.Errorf("Parse(%q)\n got %v\nwant %s", tt.in, err, tt.msg)
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("Parse(%q) = %v, not %v", tt.in, err, tt.want)
		}
		var el ErrorList
		var pe *Error
		if !errors.As(err, &el) || !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %T, want an ErrorList of *Error", tt.in, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(seedConf)
	f.Add("mark 0x50 udp fd00::/64 all\n")
	f.Add("mark 1 sctp 10.0.0.0/24 1:2,3,4-5")
	f.Fuzz(func(t *testing.T, in string) {
		c, err := Parse("fuzz", []byte(in))
		if err != nil {
			var el ErrorList
			if !errors.As(err, &el) || len(el) == 0 {
				t.Fatalf("error %v is not an ErrorList", err)
			}
			return
		}
		// Whatever parses renders everywhere and survives a round trip.
		if _, err := NftText(c.Rules, c.Table); err != nil {
			t.Fatal(err)
		}
		if _, err := IptablesCommands(c.Rules); err != nil {
			t.Fatal(err)
		}
		c2, err := Parse("again", []byte(c.Format()))
		if err != nil {
			t.Fatalf("formatted config does not parse: %v\n%s", err, c.Format())
		}
		if d := cmp.Diff(c.Rules, c2.Rules, cmpIP); d != "" {
			t.Fatal(d)
		}
	})
}

var cmpIP = cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})

// TestParseReportsEveryBadLine: the ErrorList holds one Error per bad
// line, in order, each at file:line:col with its cause.
func TestParseReportsEveryBadLine(t *testing.T) {
	_, err := Parse("f.conf", []byte("bogus\nmark 0 tcp 10.0.0.1 80\nmark 1 tcp 10.0.0.1 80\nmark 2 icmp 10.0.0.1 80\n"))
	var el ErrorList
	if !errors.As(err, &el) || len(el) != 3 {
		t.Fatalf("Parse = %v, want 3 errors", err)
	}
	want := []struct {
		pos  string
		line int
		err  error
	}{{"f.conf:1:1", 1, ErrSyntax}, {"f.conf:2:6", 2, ErrMarkZero}, {"f.conf:4:8", 4, ErrProtocol}}
	for i, w := range want {
		if el[i].Pos.String() != w.pos || el[i].Pos.Line != w.line || !errors.Is(&el[i], w.err) {
			t.Errorf("error %d = %v at %v, want %s %v", i, el[i].Err, el[i].Pos, w.pos, w.err)
		}
	}
	if n := strings.Count(err.Error(), "\n"); n != 2 {
		t.Errorf("ErrorList prints %d lines, want 3:\n%s", n+1, err)
	}
	if !errors.Is(err, ErrProtocol) {
		t.Error("errors.Is does not reach the last error's cause")
	}
	if (Position{Filename: "x"}).String() != "x" || (Position{Filename: "x", Line: 3}).String() != "x:3" {
		t.Error("Position.String leaves out unknown parts wrongly")
	}
}
