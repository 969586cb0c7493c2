package fwmark

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLocalDeliveryCommands(t *testing.T) {
	got, err := LocalDelivery{Marks: []uint32{80, 21}, Table: 100}.Commands()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ip rule add fwmark 80 lookup 100 priority 100",
		"ip rule add fwmark 21 lookup 100 priority 100",
		"ip route add local 0.0.0.0/0 dev lo table 100",
		"ip -6 rule add fwmark 80 lookup 100 priority 100",
		"ip -6 rule add fwmark 21 lookup 100 priority 100",
		"ip -6 route add local ::/0 dev lo table 100",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
}

func TestLocalDeliveryValidate(t *testing.T) {
	for _, tt := range []struct {
		l     LocalDelivery
		field string
	}{
		{LocalDelivery{Table: 100}, "marks"},
		{LocalDelivery{Marks: []uint32{1, 0}, Table: 100}, "marks[1]"},
		{LocalDelivery{Marks: []uint32{1}, Table: 254}, "table"},
		{LocalDelivery{Marks: []uint32{1}}, "table"},
		{LocalDelivery{Marks: []uint32{1}, Table: 7, Priority: 32766}, "priority"},
		{LocalDelivery{Marks: []uint32{1}, Table: 7, Families: []Family{9}}, "families[0]"},
	} {
		var fe *FieldError
		if err := tt.l.Validate(); !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%+v: %v, want field %s", tt.l, err, tt.field)
		}
	}
}
