package fwmark

import (
	"errors"
	"net/netip"
	"testing"
)

func TestSYNDropValidate(t *testing.T) {
	for _, c := range []struct {
		d     SYNDrop
		field string
		err   error
	}{
		{SYNDrop{}, "dsts", ErrNoDestination},
		{SYNDrop{Dsts: []netip.Addr{{}}}, "dsts[0]", ErrNoDestination},
		{SYNDrop{Dsts: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("::ffff:10.0.0.1")}}, "dsts[1]", ErrFamily},
		{SYNDrop{Dsts: []netip.Addr{netip.MustParseAddr("fe80::1%eth0")}}, "dsts[0]", ErrFamily},
		{SYNDrop{Dsts: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, Table: "bad name"}, "table", ErrSyntax},
	} {
		err := c.d.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, c.err) {
			t.Errorf("%+v: %v, want field %s and %v", c.d, err, c.field, c.err)
		}
		if _, err := c.d.NftText(); err == nil {
			t.Errorf("%+v: NftText accepted it", c.d)
		}
	}
}

func TestSYNDropNftText(t *testing.T) {
	d := SYNDrop{Dsts: []netip.Addr{netip.MustParseAddr("192.168.0.100"), netip.MustParseAddr("fd00::100")}, Table: "haproxypair_51"}
	got, err := d.NftText()
	if err != nil {
		t.Fatal(err)
	}
	want := `table inet haproxypair_51 {}
delete table inet haproxypair_51
table inet haproxypair_51 {
	chain prerouting {
		type filter hook prerouting priority raw; policy accept;
		ip daddr 192.168.0.100 tcp flags & (syn | ack) == syn counter drop comment "syn-drop 192.168.0.100"
		ip6 daddr fd00::100 tcp flags & (syn | ack) == syn counter drop comment "syn-drop fd00::100"
	}
}
`
	if got != want {
		t.Errorf("NftText:\n%s\nwant:\n%s", got, want)
	}
	if d.table() != "haproxypair_51" || (SYNDrop{}).table() != DefaultSYNDropTable {
		t.Error("table name")
	}
}
