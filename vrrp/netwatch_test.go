package vrrp

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// A master whose VIP is deleted resigns (priority 0), becomes backup with
// its Master_Down_Timer at the skew time only, and takes MASTER back when
// that runs out with no other router heard (keepalived set_vrrp_backup).
func TestMachineLeaveMasterResignsAndComesBackAfterSkew(t *testing.T) {
	rec := &recorder{}
	m, err := NewMachine(Election{Version: 3, Priority: 200, Interval: time.Second, Primary: addrMid}, rec)
	if err != nil {
		t.Fatal(err)
	}
	m.Start(t0)
	m.Tick(t0.Add(m.MasterDownInterval()))
	if m.State() != StateMaster {
		t.Fatalf("state %v, want MASTER", m.State())
	}
	now := t0.Add(5 * time.Second)
	rec.sent = nil
	m.LeaveMaster(now, ReasonDeleted)
	skew := 56 * time.Second / 256
	if m.State() != StateBackup || len(rec.sent) != 1 || rec.sent[0] != 0 || !m.Deadline().Equal(now.Add(skew)) {
		t.Fatalf("after LeaveMaster: state %v sent %v deadline +%v, want BACKUP [0] +%v", m.State(), rec.sent, m.Deadline().Sub(now), skew)
	}
	if tr := rec.trans[len(rec.trans)-1]; tr.Reason != ReasonDeleted || tr.From != StateMaster {
		t.Fatalf("transition %+v", tr)
	}
	m.LeaveMaster(now, ReasonDeleted) // a backup: nothing
	if len(rec.sent) != 1 {
		t.Fatalf("a backup sent %v", rec.sent)
	}
	m.Tick(now.Add(skew))
	if m.State() != StateMaster {
		t.Fatalf("after skew: %v, want MASTER", m.State())
	}
}

// A peer's advert during the short timer holds a non-preempting instance
// in BACKUP (a preempting one of higher priority takes MASTER back).
func TestMachineLeaveMasterYieldsToAPeerThatAdvertises(t *testing.T) {
	m, _ := NewMachine(Election{Version: 3, Priority: 200, Interval: time.Second, Primary: addrMid, NoPreempt: true}, &recorder{})
	m.Start(t0)
	m.Tick(t0.Add(m.MasterDownInterval()))
	now := t0.Add(5 * time.Second)
	m.LeaveMaster(now, ReasonDeleted)
	m.Advert(now.Add(100*time.Millisecond), addrHigh, 100, time.Second)
	m.Tick(now.Add(time.Second))
	if m.State() != StateBackup || m.Master() != addrHigh {
		t.Fatalf("state %v master %v, want BACKUP under %v", m.State(), m.Master(), addrHigh)
	}
}

func nlAttr(typ uint16, v []byte) []byte {
	b := make([]byte, 4, 4+len(v)+3)
	binary.NativeEndian.PutUint16(b, uint16(4+len(v)))
	binary.NativeEndian.PutUint16(b[2:], typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// The messages the kernel sends when an address, route or rule is
// deleted decode to the keys the Router and KeepStatic register.
func TestDecodeNetChangeMatchesOwnKeys(t *testing.T) {
	vip := netip.MustParsePrefix("10.0.0.100/24")
	addr := append([]byte{afInet, 24, 0, 0}, u32(3)...)
	addr = append(addr, nlAttr(1, vip.Addr().AsSlice())...)
	addr = append(addr, nlAttr(2, vip.Addr().AsSlice())...)

	rt := Route{Dst: netip.MustParsePrefix("10.9.0.0/16"), Metric: 7}
	route := []byte{afInet, 16, 0, 0, 254, 18, 0, 1, 0, 0, 0, 0}
	route = append(route, nlAttr(1, rt.Dst.Addr().AsSlice())...)
	route = append(route, nlAttr(4, u32(3))...)
	route = append(route, nlAttr(6, u32(7))...)
	route = append(route, nlAttr(15, u32(254))...)

	ru := Rule{From: netip.MustParsePrefix("10.1.0.0/16"), Table: 100, Priority: 500}
	rule := []byte{afInet, 0, 16, 0, 100, 0, 0, 1, 0, 0, 0, 0}
	rule = append(rule, nlAttr(2, ru.From.Addr().AsSlice())...)
	rule = append(rule, nlAttr(6, u32(500))...)
	rule = append(rule, nlAttr(15, u32(100))...)
	rule = append(rule, nlAttr(21, []byte{18})...)

	v6 := netip.MustParsePrefix("fd00::10/64")
	addr6 := append([]byte{afInet6, 64, 0, 0}, u32(4)...)
	addr6 = append(addr6, nlAttr(1, v6.Addr().AsSlice())...)

	for _, tc := range []struct {
		name string
		typ  uint16
		b    []byte
		want []netKey // one of these matches
	}{
		{"address", rtmDelAddr, addr, []netKey{addrKey(3, vip)}},
		{"ipv6 address", rtmDelAddr, addr6, []netKey{addrKey(4, v6)}},
		{"route with its interface", rtmDelRoute, route, []netKey{routeKey(rt, 3)}},
		{"route the kernel routed", rtmDelRoute, route, []netKey{routeKey(rt, 0)}},
		{"rule", rtmDelRule, rule, []netKey{ruleKey(ru, false)}},
		{"rule the kernel numbered", rtmDelRule, rule, []netKey{ruleKey(Rule{From: ru.From, Table: 100}, false)}},
	} {
		c, ok := decodeNetChange(tc.typ, tc.b)
		if !ok || !c.del {
			t.Fatalf("%s: ok %v del %v", tc.name, ok, c.del)
		}
		found := false
		for _, k := range c.key.candidates() {
			for _, w := range tc.want {
				found = found || k == w
			}
		}
		if !found {
			t.Errorf("%s: decoded %+v (candidates %v), want %+v", tc.name, c.key, c.key.candidates(), tc.want)
		}
	}
	if c, _ := decodeNetChange(rtmDelRule, rule); c.protocol != 18 {
		t.Errorf("rule protocol %d, want 18", c.protocol)
	}
	if c, ok := decodeNetChange(rtmNewAddr, addr); !ok || c.del {
		t.Errorf("RTM_NEWADDR: ok %v del %v", ok, c.del)
	}
	// An address on another interface is another key.
	if c, _ := decodeNetChange(rtmDelAddr, addr); c.key == addrKey(4, vip) {
		t.Error("address on ifindex 3 matched ifindex 4")
	}
}

// linkMsg is the body of an RTM_NEWLINK or RTM_DELLINK: struct ifinfomsg
// with index and flags, IFLA_IFNAME and, unless oper is 0xff,
// IFLA_OPERSTATE.
func linkMsg(index, flags uint32, name string, oper uint8) []byte {
	b := append([]byte{0, 0, 1, 0}, u32(index)...)
	b = append(b, u32(flags)...)
	b = append(b, u32(0)...)
	b = append(b, nlAttr(3, append([]byte(name), 0))...)
	if oper != 0xff {
		b = append(b, nlAttr(16, []byte{oper})...)
	}
	return b
}

// A link counts as up while administratively up and not reported down,
// lower-layer down or not present (as the trackers read it from
// vishvananda/netlink before: linkDown).
func TestDecodeLinkChange(t *testing.T) {
	for _, tc := range []struct {
		name  string
		typ   uint16
		flags uint32
		oper  uint8
		up    bool
	}{
		{"up", rtmNewLink, 0x1 | 0x40, 6, true},
		{"admin down", rtmNewLink, 0x1000, 2, false},
		{"no carrier", rtmNewLink, 0x1, 3, false},
		{"not present", rtmNewLink, 0x1, 1, false},
		{"oper down", rtmNewLink, 0x1, 2, false},
		{"unknown (veth peer gone, tun)", rtmNewLink, 0x1, 0, true},
		{"dormant", rtmNewLink, 0x1, 5, true},
		{"no operstate", rtmNewLink, 0x1, 0xff, true},
		{"deleted", rtmDelLink, 0x1, 6, true},
	} {
		c, ok := decodeNetChange(tc.typ, linkMsg(7, tc.flags, "eth7", tc.oper))
		if !ok || c.key.kind != keyLink || c.key.ifindex != 7 || c.name != "eth7" {
			t.Fatalf("%s: ok %v %+v", tc.name, ok, c)
		}
		if c.up != tc.up || c.del != (tc.typ == rtmDelLink) {
			t.Errorf("%s: up %v del %v, want up %v", tc.name, c.up, c.del, tc.up)
		}
	}
	if _, ok := decodeNetChange(rtmNewLink, linkMsg(7, 1, "", 6)); ok {
		t.Error("a link without a name decoded")
	}
	if _, ok := decodeNetChange(rtmNewLink, make([]byte, 15)); ok {
		t.Error("a short ifinfomsg decoded")
	}
}

// FuzzDecodeNetChange: no input makes the decoder panic, and what it
// accepts is a key of the kind its message type says.
func FuzzDecodeNetChange(f *testing.F) {
	f.Add(uint16(rtmDelAddr), append(append([]byte{afInet, 32, 0, 0}, u32(2)...), nlAttr(2, []byte{10, 0, 0, 1})...))
	f.Add(uint16(rtmDelRoute), append([]byte{afInet6, 64, 0, 0, 254, 18, 0, 1, 0, 0, 0, 0}, nlAttr(1, make([]byte, 16))...))
	f.Add(uint16(rtmDelRule), append([]byte{afInet, 8, 0, 0, 100, 0, 0, 1, 0, 0, 0, 0}, nlAttr(1, []byte{10, 0, 0, 0})...))
	f.Add(uint16(rtmNewRoute), []byte{afInet, 40, 0, 0, 254, 18, 0, 1, 0, 0, 0, 0, 8, 0, 1, 0, 1, 2, 3, 4})
	f.Add(uint16(rtmNewLink), linkMsg(3, 1, "eth0", 6))
	f.Fuzz(func(t *testing.T, typ uint16, b []byte) {
		c, ok := decodeNetChange(typ, b)
		if !ok {
			return
		}
		want := map[uint16]uint8{rtmNewAddr: keyAddr, rtmDelAddr: keyAddr, rtmNewRoute: keyRoute, rtmDelRoute: keyRoute, rtmNewRule: keyRule, rtmDelRule: keyRule,
			rtmNewLink: keyLink, rtmDelLink: keyLink}[typ]
		if c.key.kind != want {
			t.Fatalf("type %d decoded as kind %d", typ, c.key.kind)
		}
		_ = c.key.String()
		_ = c.key.candidates()
	})
}
