package conv_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/lvskit/lvskit/fwmark"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/sched"
)

// The packages import none of each other, so ipvs and fwmark each define
// Family and Protocol. These array types compile only while the values
// agree: a length below zero is a compile error.
var (
	_ [uint16(ipvs.IPv4) - uint16(fwmark.IPv4)]struct{}
	_ [uint16(fwmark.IPv4) - uint16(ipvs.IPv4)]struct{}
	_ [uint16(ipvs.IPv6) - uint16(fwmark.IPv6)]struct{}
	_ [uint16(fwmark.IPv6) - uint16(ipvs.IPv6)]struct{}
	_ [uint8(ipvs.TCP) - uint8(fwmark.TCP)]struct{}
	_ [uint8(fwmark.TCP) - uint8(ipvs.TCP)]struct{}
	_ [uint8(ipvs.UDP) - uint8(fwmark.UDP)]struct{}
	_ [uint8(fwmark.UDP) - uint8(ipvs.UDP)]struct{}
	_ [uint8(ipvs.SCTP) - uint8(fwmark.SCTP)]struct{}
	_ [uint8(fwmark.SCTP) - uint8(ipvs.SCTP)]struct{}
)

// TestFamilyAndProtocolMirror pins what the compiler cannot: the
// underlying types and the spellings.
func TestFamilyAndProtocolMirror(t *testing.T) {
	if k := reflect.TypeFor[ipvs.Family]().Kind(); k != reflect.Uint16 || reflect.TypeFor[fwmark.Family]().Kind() != k {
		t.Error("Family must be uint16 in ipvs and fwmark")
	}
	if k := reflect.TypeFor[ipvs.Protocol]().Kind(); k != reflect.Uint8 || reflect.TypeFor[fwmark.Protocol]().Kind() != k {
		t.Error("Protocol must be uint8 in ipvs and fwmark")
	}
	for _, f := range []struct{ a, b string }{{ipvs.IPv4.String(), fwmark.IPv4.String()}, {ipvs.IPv6.String(), fwmark.IPv6.String()}} {
		if f.a != f.b {
			t.Errorf("Family spelled %q in ipvs, %q in fwmark", f.a, f.b)
		}
	}
	for _, p := range []ipvs.Protocol{ipvs.TCP, ipvs.UDP, ipvs.SCTP} {
		fp := fwmark.Protocol(p)
		if p.String() != fp.String() {
			t.Errorf("protocol %d spelled %q in ipvs, %q in fwmark", p, p, fp)
		}
		a, errA := ipvs.ParseProtocol(p.String())
		b, errB := fwmark.ParseProtocol(p.String())
		if errA != nil || errB != nil || uint8(a) != uint8(b) {
			t.Errorf("ParseProtocol(%q): ipvs %v %v, fwmark %v %v", p, a, errA, b, errB)
		}
	}
}

// TestIPVSInternsSchedNames pins ipvs's unexported table of names it
// decodes without allocating to sched.Names (plus the "sip" persistence
// engine), by reading the table from the source.
func TestIPVSInternsSchedNames(t *testing.T) {
	got := stringTable(t, "../../ipvs/attrdecode.go", "commonNames")
	want := append(sched.Names(), "sip")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("ipvs interns %v, want sched.Names() + sip = %v", got, want)
	}
}

// stringTable reads the string literals of the package-level composite
// literal named name in the Go file at path.
func stringTable(t *testing.T, path, name string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != name {
			return true
		}
		found = true
		for _, e := range vs.Values[0].(*ast.CompositeLit).Elts {
			s, err := strconv.Unquote(e.(*ast.BasicLit).Value)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, s)
		}
		return false
	})
	if !found {
		t.Fatalf("%s: no table %s", path, name)
	}
	return got
}
