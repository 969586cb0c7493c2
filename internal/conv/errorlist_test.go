package conv_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/lvskit/lvskit/fwmark"
	"github.com/lvskit/lvskit/haproxy"
	"github.com/lvskit/lvskit/keepalivedconf"
)

// The config readers' positions are one type in three packages: these
// conversions compile only while the underlying structs are identical.
var (
	_ = keepalivedconf.Position(haproxy.Position{})
	_ = fwmark.Position(haproxy.Position{})
)

// TestErrorListsShareOneShape pins what conversion cannot: each reader's
// Error has the fields Pos, Msg and Err (in that order, of the same kinds),
// its ErrorList is a slice of Error, and both print and unwrap alike.
func TestErrorListsShareOneShape(t *testing.T) {
	shape := func(typ reflect.Type) []string {
		var s []string
		for f := range typ.Fields() {
			s = append(s, f.Name+" "+f.Type.Kind().String())
		}
		return s
	}
	want := shape(reflect.TypeFor[haproxy.Error]())
	for _, typ := range []reflect.Type{reflect.TypeFor[keepalivedconf.Error](), reflect.TypeFor[fwmark.Error]()} {
		if got := shape(typ); !reflect.DeepEqual(got, want) {
			t.Errorf("%v has fields %v, haproxy.Error %v", typ, got, want)
		}
	}
	for _, l := range []reflect.Type{reflect.TypeFor[haproxy.ErrorList](), reflect.TypeFor[keepalivedconf.ErrorList](), reflect.TypeFor[fwmark.ErrorList]()} {
		if l.Kind() != reflect.Slice || l.Elem().Name() != "Error" {
			t.Errorf("%v is not []Error", l)
		}
	}

	sentinel := errors.New("cause")
	lists := []error{
		haproxy.ErrorList{{Pos: haproxy.Position{Filename: "f", Line: 1, Col: 2}, Msg: "m", Err: sentinel}},
		keepalivedconf.ErrorList{{Pos: keepalivedconf.Position{Filename: "f", Line: 1, Col: 2}, Msg: "m", Err: sentinel}},
		fwmark.ErrorList{{Pos: fwmark.Position{Filename: "f", Line: 1, Col: 2}, Msg: "m", Err: sentinel}},
	}
	for _, l := range lists {
		if got := l.Error(); got != "f:1:2: m" {
			t.Errorf("%T prints %q, want %q", l, got, "f:1:2: m")
		}
		if !errors.Is(l, sentinel) {
			t.Errorf("%T does not unwrap to its errors' causes", l)
		}
	}
}
