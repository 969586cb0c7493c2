package main

import (
	"crypto/x509"
	"net/netip"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/vrrp"
)

// nonZero returns a non-zero value of type t: what a changed field holds.
func nonZero(t *testing.T, typ reflect.Type) reflect.Value {
	t.Helper()
	v := reflect.New(typ).Elem()
	switch typ {
	case reflect.TypeFor[netip.Addr]():
		return reflect.ValueOf(netip.MustParseAddr("192.0.2.1"))
	case reflect.TypeFor[netip.AddrPort]():
		return reflect.ValueOf(netip.MustParseAddrPort("192.0.2.1:1"))
	case reflect.TypeFor[netip.Prefix]():
		return reflect.ValueOf(netip.MustParsePrefix("192.0.2.0/24"))
	case reflect.TypeFor[time.Duration]():
		return reflect.ValueOf(time.Second)
	case reflect.TypeFor[*regexp.Regexp]():
		return reflect.ValueOf(regexp.MustCompile("x"))
	case reflect.TypeFor[*check.BodyRegex]():
		b, _ := check.CompileBodyRegex("x", nil)
		return reflect.ValueOf(b)
	case reflect.TypeFor[*x509.CertPool]():
		return reflect.ValueOf(x509.NewCertPool())
	}
	switch typ.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	case reflect.Slice:
		v = reflect.MakeSlice(typ, 1, 1)
		v.Index(0).Set(nonZero(t, typ.Elem()))
	case reflect.Struct:
		for i := range typ.NumField() {
			if typ.Field(i).IsExported() {
				v.Field(i).Set(nonZero(t, typ.Field(i).Type))
				return v
			}
		}
		t.Fatalf("no exported field in %v", typ)
	default:
		t.Fatalf("nonZero: %v not handled", typ)
	}
	return v
}

// everyField changes each exported field of base in turn (and, for
// struct-valued fields and slices of structs, each of their fields) and
// calls changed with the field's path, the value before and the changed
// copy.
func everyField(t *testing.T, base reflect.Value, path string, skip map[string]bool, changed func(path string, before, after reflect.Value)) {
	typ := base.Type()
	for i := range typ.NumField() {
		f := typ.Field(i)
		p := path + "." + f.Name
		if !f.IsExported() || skip[p] {
			continue
		}
		c := reflect.New(typ).Elem()
		c.Set(base)
		c.Field(i).Set(nonZero(t, f.Type))
		changed(p, base, c)
		ft := f.Type
		if ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() != reflect.Struct || ft.PkgPath() == "net/netip" || ft.PkgPath() == "time" {
			continue
		}
		// Each field of the element, with the others zero, against the
		// zero element.
		with := func(e reflect.Value) reflect.Value {
			c := reflect.New(typ).Elem()
			c.Set(base)
			if f.Type.Kind() == reflect.Slice {
				s := reflect.MakeSlice(f.Type, 1, 1)
				s.Index(0).Set(e)
				c.Field(i).Set(s)
			} else {
				c.Field(i).Set(e)
			}
			return c
		}
		everyField(t, reflect.New(ft).Elem(), p, skip, func(sub string, before, after reflect.Value) {
			changed(sub, with(before), with(after))
		})
	}
}

// TestCompareCoversEveryField changes every configuration field of a VRRP
// instance and of each checker and policy type Translate builds, one at a
// time, and expects the reload comparison to see the change; a field a
// package adds later fails here until compare.go compares it. The router's
// own callback (OnTransition, OnNotified) is not configuration.
func TestCompareCoversEveryField(t *testing.T) {
	var base vrrp.Config
	everyField(t, reflect.ValueOf(base), "Config", map[string]bool{"Config.OnTransition": true, "Config.OnNotified": true, "Config.OnPriority": true, "Config.TrackExternal.C": true}, func(p string, before, after reflect.Value) {
		b, c := before.Interface().(vrrp.Config), after.Interface().(vrrp.Config)
		if !sameInstance(b, b) {
			t.Errorf("%s: an instance differs from itself", p)
		}
		if sameInstance(b, c) || sameUnit(vrrpUnit{Instances: []vrrp.Config{b}}, vrrpUnit{Instances: []vrrp.Config{c}}) {
			t.Errorf("a change of %s is not seen", p)
		}
	})
	if !sameInstance(base, base) {
		t.Error("an instance differs from itself")
	}
	for _, c := range []check.Checker{check.TCP{}, check.DNS{}, check.SMTP{}, check.ICMP{}, check.File{}, check.UDP{}, check.Exec{}, &check.HTTP{}} {
		rv := reflect.ValueOf(c)
		ptr := rv.Kind() == reflect.Pointer
		if ptr {
			rv = rv.Elem()
		}
		name := rv.Type().Name()
		asChecker := func(v reflect.Value) check.Checker {
			if ptr {
				pv := reflect.New(v.Type())
				pv.Elem().Set(v)
				return pv.Interface().(check.Checker)
			}
			return v.Interface().(check.Checker)
		}
		everyField(t, rv, name, nil, func(p string, before, after reflect.Value) {
			if b := asChecker(before); !sameChecker(b, b) || sameChecker(b, asChecker(after)) {
				t.Errorf("a change of %s is not seen", p)
			}
		})
		if !sameChecker(c, c) {
			t.Errorf("%s differs from itself", name)
		}
		if !sameChecker(allOf{c, c}, allOf{c, c}) || sameChecker(allOf{c}, allOf{c, c}) {
			t.Errorf("allOf of %s", name)
		}
	}
	pol := check.Keepalived{}
	everyField(t, reflect.ValueOf(pol), "Keepalived", nil, func(p string, before, after reflect.Value) {
		if samePolicy(before.Interface().(check.Policy), after.Interface().(check.Policy)) {
			t.Errorf("a change of %s is not seen", p)
		}
	})
	if !samePolicy(pol, pol) || samePolicy(pol, nil) || !samePolicy(nil, nil) {
		t.Error("policy identity")
	}
	a := check.Target{ID: "a", Checker: check.TCP{}, Policy: pol}
	if !sameTarget(a, a) || sameTarget(a, check.Target{ID: "b", Checker: check.TCP{}, Policy: pol}) {
		t.Error("target identity")
	}
	g := vrrpUnit{Key: unitKey{Group: true, Name: "G"}, Group: &SyncGroup{Name: "G", Members: []string{"A"}}}
	h := g
	h.Group = &SyncGroup{Name: "G", Members: []string{"A", "B"}}
	if !sameUnit(g, g) || sameUnit(g, h) || sameUnit(g, vrrpUnit{Key: g.Key}) {
		t.Error("sync group comparison")
	}
}
