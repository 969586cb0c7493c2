package fwmark

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

var vip = netip.MustParsePrefix("192.168.76.24/32")

// seedRules are the seed's examples: HTTP+HTTPS as mark 80 (section 3.4) and
// FTP control + passive ports as mark 21 (section 3.5.3.2).
func seedRules() Rules {
	return Rules{
		{Protocol: TCP, Dst: vip, Ports: []PortRange{Port(80), Port(443)}, Mark: 80},
		{Protocol: TCP, Dst: vip, Ports: []PortRange{Port(21)}, Mark: 21},
		{Protocol: TCP, Dst: vip, Ports: []PortRange{{10000, 20000}}, Mark: 21},
	}
}

func TestValidateAcceptsSeed(t *testing.T) {
	if err := seedRules().Validate(); err != nil {
		t.Fatal(err)
	}
	six := Rules{{Family: IPv6, Protocol: UDP, Dst: netip.MustParsePrefix("fd00::/64"), Mark: 7}}
	if err := six.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateRejects(t *testing.T) {
	v6 := netip.MustParsePrefix("fd00::1/128")
	tests := []struct {
		name  string
		rules Rules
		want  error
		field string
	}{
		{"mark 0", Rules{{Protocol: TCP, Dst: vip, Ports: []PortRange{Port(80)}}}, ErrMarkZero, "rules[0].mark"},
		{"port 0", Rules{{Protocol: TCP, Dst: vip, Ports: []PortRange{Port(80), Port(0)}, Mark: 1}}, ErrPortZero, "rules[0].ports[1]"},
		{"range to 0", Rules{{Protocol: TCP, Dst: vip, Ports: []PortRange{{0, 5}}, Mark: 1}}, ErrPortZero, "rules[0].ports[0]"},
		{"backwards", Rules{{Protocol: TCP, Dst: vip, Ports: []PortRange{{20, 10}}, Mark: 1}}, ErrPortOrder, "rules[0].ports[0]"},
		{"no dst", Rules{{Protocol: TCP, Ports: []PortRange{Port(80)}, Mark: 1}}, ErrNoDestination, "rules[0].dst"},
		{"protocol", Rules{{Protocol: 1, Dst: vip, Mark: 1}}, ErrProtocol, "rules[0].protocol"},
		{"family vs v6 address", Rules{{Family: IPv4, Protocol: TCP, Dst: v6, Mark: 1}}, ErrFamily, "rules[0].family"},
		{"family vs v4 address", Rules{{Family: IPv6, Protocol: TCP, Dst: vip, Mark: 1}}, ErrFamily, "rules[0].family"},
		{"bad family", Rules{{Family: 5, Protocol: TCP, Dst: vip, Mark: 1}}, ErrFamily, "rules[0].family"},
		{"4in6", Rules{{Protocol: TCP, Dst: netip.MustParsePrefix("::ffff:10.0.0.1/128"), Mark: 1}}, ErrFamily, "rules[0].dst"},
		{"host bits", Rules{{Protocol: TCP, Dst: netip.MustParsePrefix("10.0.0.5/24"), Mark: 1}}, ErrHostBits, "rules[0].dst"},
		{"overlap range", Rules{
			{Protocol: TCP, Dst: vip, Ports: []PortRange{{10000, 20000}}, Mark: 21},
			{Protocol: TCP, Dst: vip, Ports: []PortRange{Port(443), {19000, 25000}}, Mark: 80},
		}, ErrOverlap, "rules[1].ports[1]"},
		{"overlap prefix", Rules{
			{Protocol: TCP, Dst: vip, Ports: []PortRange{Port(80)}, Mark: 80},
			{Protocol: UDP, Dst: vip, Ports: []PortRange{Port(80)}, Mark: 81},
			{Protocol: TCP, Dst: netip.MustParsePrefix("192.168.76.0/24"), Mark: 9},
		}, ErrOverlap, "rules[2].ports"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rules.Validate()
			if !errors.Is(err, tt.want) {
				t.Fatalf("Validate() = %v, want %v", err, tt.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("Validate() = %v, want field %q", err, tt.field)
			}
			if !strings.HasPrefix(err.Error(), tt.field+": ") {
				t.Errorf("message %q does not start with its field", err)
			}
			// Every renderer refuses what Validate refuses.
			if _, err := IptablesCommands(tt.rules); !errors.Is(err, tt.want) {
				t.Errorf("IptablesCommands: %v", err)
			}
			if _, err := NftText(tt.rules, ""); !errors.Is(err, tt.want) {
				t.Errorf("NftText: %v", err)
			}
			if _, err := FirewalldRichRules(tt.rules, &FirewalldConfig{}); !errors.Is(err, tt.want) {
				t.Errorf("FirewalldRichRules: %v", err)
			}
		})
	}
}

func TestOverlapSameMarkAllowed(t *testing.T) {
	rs := Rules{
		{Protocol: TCP, Dst: vip, Ports: []PortRange{{1000, 2000}}, Mark: 5},
		{Protocol: TCP, Dst: netip.MustParsePrefix("192.168.76.0/24"), Ports: []PortRange{Port(1500)}, Mark: 5},
		{Protocol: TCP, Dst: vip, Ports: []PortRange{Port(2001)}, Mark: 6},
		{Protocol: TCP, Dst: netip.MustParsePrefix("fd00::/8"), Ports: []PortRange{Port(1500)}, Mark: 6},
	}
	if err := rs.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestOverlapMessage(t *testing.T) {
	rs := Rules{
		{Protocol: TCP, Dst: vip, Ports: []PortRange{{10000, 20000}}, Mark: 21},
		{Protocol: TCP, Dst: vip, Ports: []PortRange{{19000, 25000}}, Mark: 80},
	}
	got := rs.Validate().Error()
	want := "rules[1].ports[0]: fwmark: overlapping rules set different marks: tcp port 19000-20000 also matches rules[0] (mark 21) but sets mark 80"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestParsePortRange(t *testing.T) {
	for in, want := range map[string]PortRange{"80": Port(80), "10000-20000": {10000, 20000}, "10000:20000": {10000, 20000}, "65535": Port(65535)} {
		got, err := ParsePortRange(in)
		if err != nil || got != want {
			t.Errorf("ParsePortRange(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]error{"0": ErrPortZero, "65536": ErrPort, "x": ErrPort, "": ErrPort, "5-1": ErrPortOrder, "1-0": ErrPortZero, "-": ErrPort} {
		if _, err := ParsePortRange(in); !errors.Is(err, want) {
			t.Errorf("ParsePortRange(%q) = %v, want %v", in, err, want)
		}
	}
}

// bruteOverlap is the obvious quadratic check the bucketed one must agree
// with.
func bruteOverlap(rs Rules) error {
	for j := range rs {
		for i := range j {
			if err := overlap(rs, i, j); err != nil {
				return err
			}
		}
	}
	return nil
}

func TestOverlapsMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: deterministic
	prefixes := []string{"10.0.0.1/32", "10.0.0.2/32", "10.0.0.0/30", "10.0.0.0/24", "10.0.1.0/24", "fd00::1/128", "fd00::/64", "0.0.0.0/0"}
	for round := range 3000 {
		n := 1 + rng.IntN(6)
		rs := make(Rules, n)
		for i := range rs {
			r := Rule{Protocol: []Protocol{TCP, UDP}[rng.IntN(2)], Dst: netip.MustParsePrefix(prefixes[rng.IntN(len(prefixes))]), Mark: uint32(1 + rng.IntN(3))}
			for range rng.IntN(3) {
				from := uint16(1 + rng.IntN(40))
				r.Ports = append(r.Ports, PortRange{from, from + uint16(rng.IntN(5))})
			}
			rs[i] = r
		}
		want, got := bruteOverlap(rs), rs.overlaps()
		if (want == nil) != (got == nil) || (want != nil && want.Error() != got.Error()) {
			t.Fatalf("round %d: %v\nbrute force: %v\nbucketed:    %v", round, rs, want, got)
		}
	}
}

// FuzzValidate builds rules from raw bytes (9 per rule) and checks that
// validation never panics, that the bucketed overlap search agrees with the
// quadratic one, and that every renderer accepts what Validate accepts.
func FuzzValidate(f *testing.F) {
	f.Add([]byte{0, 1, 32, 0, 80, 0, 80, 0, 80, 0, 1, 24, 0, 79, 0, 81, 0, 21})
	f.Add([]byte{2, 3, 64, 0, 0, 255, 255, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		var rs Rules
		for len(data) >= 9 && len(rs) < 32 {
			d := data[:9]
			data = data[9:]
			var a netip.Addr
			if d[0]&1 == 0 {
				a = netip.AddrFrom4([4]byte{10, 0, d[1] & 3, d[1] >> 2})
			} else {
				a = netip.AddrFrom16([16]byte{0: 0xfd, 15: d[1]})
			}
			p, _ := a.Prefix(int(d[2]) % (a.BitLen() + 1))
			r := Rule{Protocol: []Protocol{TCP, UDP, SCTP, 1}[d[0]>>1&3], Dst: p, Mark: uint32(d[8] % 4)}
			if d[0]&8 == 0 {
				r.Ports = append(r.Ports, PortRange{uint16(d[3])<<8 | uint16(d[4]), uint16(d[5])<<8 | uint16(d[6])})
			}
			if d[0]&16 != 0 {
				r.Ports = append(r.Ports, Port(uint16(d[7])))
			}
			rs = append(rs, r)
		}
		err := rs.Validate()
		if err == nil {
			if b := bruteOverlap(rs); b != nil {
				t.Fatalf("Validate passed, brute force finds %v", b)
			}
			if _, err := NftText(rs, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := FirewalldRichRules(rs, &FirewalldConfig{}); err != nil {
				t.Fatal(err)
			}
			return
		}
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("%v is not a *FieldError", err)
		}
		if errors.Is(err, ErrOverlap) {
			if b := bruteOverlap(rs); b == nil || b.Error() != err.Error() {
				t.Fatalf("bucketed %v, brute force %v", err, b)
			}
		}
	})
}

// TestVocabulary pins fwmark's Family and Protocol to the shared
// vocabulary: kernel AF numbers, IANA protocol numbers, and firewalld's own
// spelling only where firewalld reads it.
func TestVocabulary(t *testing.T) {
	if IPv4 != 2 || IPv6 != 10 || IPv4.String() != "IPv4" || IPv6.String() != "IPv6" || Family(0).String() != "unspecified" {
		t.Errorf("Family: %d %q, %d %q", IPv4, IPv4, IPv6, IPv6)
	}
	if firewalldFamily(IPv4) != "ipv4" || firewalldFamily(IPv6) != "ipv6" {
		t.Error("firewalld spelling changed")
	}
	if TCP != 6 || UDP != 17 || SCTP != 132 || TCP.String() != "tcp" || SCTP.String() != "sctp" {
		t.Error("Protocol vocabulary changed")
	}
	if p, err := ParseProtocol("UDP"); err != nil || p != UDP {
		t.Errorf("ParseProtocol(UDP) = %v, %v", p, err)
	}
}
