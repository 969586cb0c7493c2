package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lvskit/lvskit/vrrp"
)

// opsState is what the operator-facing outputs (state dumps, notify
// FIFOs, metrics, the status socket) read: the running VRRP instances with
// their configuration, and the counters keepalived keeps that the vrrp
// package does not (becoming and releasing master, the time of the last
// transition). It has its own lock: dumps run from signal handlers while
// the router's loop works.
type opsState struct {
	mu        sync.Mutex
	instances map[string]*opsInstance
	fifo      *fifoWriter
	reals     opsReals // real and virtual servers (opsreals.go)
	// bgp maps each VIP prefix lvsrouter may announce to whether it is
	// announced now; nil without --bgp (bgp_router.go).
	bgp map[netip.Prefix]bool
}

// opsInstance is one running VRRP instance.
type opsInstance struct {
	cfg      vrrp.Config
	in       *vrrp.Instance
	becomeM  uint64
	releaseM uint64
	last     time.Time
	base     vrrpCounters // subtracted after STATS_CLEAR
}

// vrrpCounters are keepalived's per-instance statistics (vrrp_stats).
type vrrpCounters struct {
	AdvertRcvd, AdvertSent, BecomeMaster, ReleaseMaster         uint64
	PacketLenErr, AdvertIntervalErr, IPTTLErr, InvalidTypeRcvd  uint64
	AddrListErr, InvalidAuthtype, AuthtypeMismatch, AuthFailure uint64
	PriZeroRcvd, PriZeroSent                                    uint64
}

func (c vrrpCounters) minus(b vrrpCounters) vrrpCounters {
	sub := func(a, b uint64) uint64 {
		if a < b {
			return 0
		}
		return a - b
	}
	return vrrpCounters{
		sub(c.AdvertRcvd, b.AdvertRcvd), sub(c.AdvertSent, b.AdvertSent),
		sub(c.BecomeMaster, b.BecomeMaster), sub(c.ReleaseMaster, b.ReleaseMaster),
		sub(c.PacketLenErr, b.PacketLenErr), sub(c.AdvertIntervalErr, b.AdvertIntervalErr),
		sub(c.IPTTLErr, b.IPTTLErr), sub(c.InvalidTypeRcvd, b.InvalidTypeRcvd),
		sub(c.AddrListErr, b.AddrListErr), sub(c.InvalidAuthtype, b.InvalidAuthtype),
		sub(c.AuthtypeMismatch, b.AuthtypeMismatch), sub(c.AuthFailure, b.AuthFailure),
		sub(c.PriZeroRcvd, b.PriZeroRcvd), sub(c.PriZeroSent, b.PriZeroSent),
	}
}

// raw reads an instance's counters: the vrrp package's, mapped onto
// keepalived's names, and the master counts kept here. Priority-zero
// adverts are not counted by the vrrp package: they stay 0.
func (oi *opsInstance) raw() vrrpCounters {
	c := vrrpCounters{BecomeMaster: oi.becomeM, ReleaseMaster: oi.releaseM}
	if oi.in == nil {
		return c
	}
	s := oi.in.Stats()
	c.AdvertRcvd, c.AdvertSent = s.AdvertsReceived, s.AdvertsSent
	c.PacketLenErr = s.Drops[vrrp.DropLength]
	c.AdvertIntervalErr = s.Drops[vrrp.DropInterval]
	c.IPTTLErr = s.Drops[vrrp.DropTTL]
	c.InvalidTypeRcvd = s.Drops[vrrp.DropType]
	c.AddrListErr = s.Drops[vrrp.DropAddrList] + s.Drops[vrrp.DropAddrCount]
	c.AuthtypeMismatch = s.Drops[vrrp.DropAuthType] + s.Drops[vrrp.DropAuthAH]
	c.AuthFailure = s.Drops[vrrp.DropAuthMismatch]
	return c
}

func (oi *opsInstance) counters() vrrpCounters { return oi.raw().minus(oi.base) }

// addUnit records a unit's instances when it starts.
func (o *opsState) addUnit(u vrrpUnit, vr *vrrp.Router) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.instances == nil {
		o.instances = map[string]*opsInstance{}
	}
	running := map[string]*vrrp.Instance{}
	for _, in := range vr.Instances() {
		running[in.Name()] = in
	}
	for _, c := range u.Instances {
		o.instances[c.Name] = &opsInstance{cfg: c, in: running[c.Name], last: time.Now()}
	}
}

// updateUnit takes the new configurations of a unit updated in place; the
// counters stay.
func (o *opsState) updateUnit(u vrrpUnit) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range u.Instances {
		if oi := o.instances[c.Name]; oi != nil {
			oi.cfg = c
		}
	}
}

// removeUnit forgets a unit's instances when it stops.
func (o *opsState) removeUnit(u vrrpUnit) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range u.Instances {
		delete(o.instances, c.Name)
	}
}

// transition counts a state change, logs it as keepalived does ("(VI_1)
// Entering MASTER STATE") and writes it to the notify FIFOs.
func (o *opsState) transition(log *slog.Logger, name string, t vrrp.Transition) {
	o.mu.Lock()
	var prio uint8
	if oi := o.instances[name]; oi != nil {
		if t.To == vrrp.StateMaster {
			oi.becomeM++
		}
		if t.From == vrrp.StateMaster {
			oi.releaseM++
		}
		oi.last = time.Now()
		prio = oi.cfg.Priority
		if oi.in != nil {
			prio = oi.in.Stats().Priority
		}
	}
	f := o.fifo
	o.mu.Unlock()
	log.Info(fmt.Sprintf("(%s) Entering %s STATE", name, t.To))
	f.write(fmt.Sprintf("INSTANCE \"%s\" %s %d", name, t.To, prio))
}

// priority writes a priority change of an instance with
// notify_priority_changes to the FIFOs, as keepalived does.
func (o *opsState) priority(name string, state vrrp.State, prio uint8) {
	o.mu.Lock()
	f := o.fifo
	o.mu.Unlock()
	ev := "BACKUP_PRIORITY"
	if state == vrrp.StateMaster {
		ev = "MASTER_PRIORITY"
	}
	f.write(fmt.Sprintf("INSTANCE \"%s\" %s %d", name, ev, prio))
}

// sorted returns the instances by name, under the lock.
func (o *opsState) sorted() []*opsInstance {
	out := make([]*opsInstance, 0, len(o.instances))
	for _, oi := range o.instances {
		out = append(out, oi)
	}
	slices.SortFunc(out, func(a, b *opsInstance) int { return strings.Compare(a.cfg.Name, b.cfg.Name) })
	return out
}

// clearStats is keepalived's STATS_CLEAR: the counters restart from 0.
func (o *opsState) clearStats() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, oi := range o.instances {
		oi.base = oi.raw()
	}
}

// dumpDir, when set, replaces dumpDirectory (tests).
var dumpDir string

// dumpDirectory is where keepalived writes its dumps (its tmp_dir):
// $TMPDIR when it is an absolute path, else /tmp.
func dumpDirectory() string {
	if dumpDir != "" {
		return dumpDir
	}
	if d := os.Getenv("TMPDIR"); strings.HasPrefix(d, "/") {
		return d
	}
	return "/tmp"
}

// writeDump writes a dump file as keepalived does (replacing it).
func writeDump(name string, data []byte) error {
	path := filepath.Join(dumpDirectory(), name)
	tmp := path + ".tmp" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// statsText is /tmp/keepalived.stats (SIGUSR2), keepalived 2.2.7's
// vrrp_print_stats layout.
func (o *opsState) statsText() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	var b bytes.Buffer
	for _, oi := range o.sorted() {
		c := oi.counters()
		fmt.Fprintf(&b, "VRRP Instance: %s\n", oi.cfg.Name)
		fmt.Fprintf(&b, "  Advertisements:\n")
		fmt.Fprintf(&b, "    Received: %d\n", c.AdvertRcvd)
		fmt.Fprintf(&b, "    Sent: %d\n", c.AdvertSent)
		fmt.Fprintf(&b, "  Became master: %d\n", c.BecomeMaster)
		fmt.Fprintf(&b, "  Released master: %d\n", c.ReleaseMaster)
		fmt.Fprintf(&b, "  Packet Errors:\n")
		fmt.Fprintf(&b, "    Length: %d\n", c.PacketLenErr)
		fmt.Fprintf(&b, "    TTL: %d\n", c.IPTTLErr)
		fmt.Fprintf(&b, "    Invalid Type: %d\n", c.InvalidTypeRcvd)
		fmt.Fprintf(&b, "    Advertisement Interval: %d\n", c.AdvertIntervalErr)
		fmt.Fprintf(&b, "    Address List: %d\n", c.AddrListErr)
		fmt.Fprintf(&b, "  Authentication Errors:\n")
		fmt.Fprintf(&b, "    Invalid Type: %d\n", c.InvalidAuthtype)
		fmt.Fprintf(&b, "    Type Mismatch: %d\n", c.AuthtypeMismatch)
		fmt.Fprintf(&b, "    Failure: %d\n", c.AuthFailure)
		fmt.Fprintf(&b, "  Priority Zero:\n")
		fmt.Fprintf(&b, "    Received: %d\n", c.PriZeroRcvd)
		fmt.Fprintf(&b, "    Sent: %d\n", c.PriZeroSent)
	}
	return b.Bytes()
}

// jsonObject writes a JSON object with its fields in order, as
// keepalived's json_writer does.
type jsonObject struct {
	b     *bytes.Buffer
	first bool
}

func newObject(b *bytes.Buffer) *jsonObject { b.WriteByte('{'); return &jsonObject{b: b, first: true} }

func (j *jsonObject) key(k string) {
	if !j.first {
		j.b.WriteByte(',')
	}
	j.first = false
	j.b.WriteString(strconv.Quote(k))
	j.b.WriteByte(':')
}

func (j *jsonObject) uint(k string, v uint64) { j.key(k); j.b.WriteString(strconv.FormatUint(v, 10)) }

func (j *jsonObject) float(k string, v float64) {
	j.key(k)
	j.b.WriteString(strconv.FormatFloat(v, 'f', 6, 64))
}

func (j *jsonObject) bool(k string, v bool) { j.key(k); j.b.WriteString(strconv.FormatBool(v)) }

func (j *jsonObject) str(k, v string) { j.key(k); j.b.WriteString(jsonString(v)) }

func (j *jsonObject) strs(k string, vs []string) {
	if len(vs) == 0 {
		return // keepalived leaves empty lists out
	}
	j.key(k)
	j.b.WriteByte('[')
	for i, v := range vs {
		if i > 0 {
			j.b.WriteByte(',')
		}
		j.b.WriteString(jsonString(v))
	}
	j.b.WriteByte(']')
}

func (j *jsonObject) end() { j.b.WriteByte('}') }

func jsonString(s string) string {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// keepalived's state numbers (vrrp.h): INIT 0, BACKUP 1, MASTER 2, FAULT 3.
func stateNumber(s vrrp.State) uint64 { return uint64(s) }

// vipString is keepalived's format_ipaddress: "10.0.0.1/24 dev eth0 scope
// global" (the prefix length left out at /32 and /128).
func vipString(v vrrp.VIP, dev string) string {
	var b strings.Builder
	if v.Prefix.IsSingleIP() {
		b.WriteString(v.Prefix.Addr().String())
	} else {
		b.WriteString(v.Prefix.String())
	}
	if v.Broadcast.IsValid() && v.Prefix.Addr().Is4() {
		fmt.Fprintf(&b, " brd %s", v.Broadcast)
	}
	fmt.Fprintf(&b, " dev %s scope %s", cmpString(v.Dev, dev), scopeName(v.Scope))
	if v.Label != "" {
		fmt.Fprintf(&b, " label %s", v.Label)
	}
	if v.NoTrack {
		b.WriteString(" no_track") // as keepalived's format_ipaddress
	}
	return b.String()
}

func cmpString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func scopeName(s int) string {
	switch s {
	case 0:
		return "global"
	case 200:
		return "site"
	case 253:
		return "link"
	case 254:
		return "host"
	case 255:
		return "nowhere"
	}
	return strconv.Itoa(s)
}

// cmdString is keepalived's cmd_str: the words joined by spaces.
func cmdString(argv []string) string { return strings.Join(argv, " ") }

// jsonDump is /tmp/keepalived.json (keepalived's JSON signal, 36): a list
// of {"data": {...}, "stats": {...}} per instance, keepalived 2.2.7's
// vrrp_json.c layout and field order.
func (o *opsState) jsonDump() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	var b bytes.Buffer
	b.WriteByte('[')
	for i, oi := range o.sorted() {
		if i > 0 {
			b.WriteByte(',')
		}
		top := newObject(&b)
		top.key("data")
		oi.writeData(&b)
		top.key("stats")
		c := oi.counters()
		s := newObject(&b)
		s.uint("advert_rcvd", c.AdvertRcvd)
		s.uint("advert_sent", c.AdvertSent)
		s.uint("become_master", c.BecomeMaster)
		s.uint("release_master", c.ReleaseMaster)
		s.uint("packet_len_err", c.PacketLenErr)
		s.uint("advert_interval_err", c.AdvertIntervalErr)
		s.uint("ip_ttl_err", c.IPTTLErr)
		s.uint("invalid_type_rcvd", c.InvalidTypeRcvd)
		s.uint("addr_list_err", c.AddrListErr)
		s.uint("invalid_authtype", c.InvalidAuthtype)
		s.uint("authtype_mismatch", c.AuthtypeMismatch)
		s.uint("auth_failure", c.AuthFailure)
		s.uint("pri_zero_rcvd", c.PriZeroRcvd)
		s.uint("pri_zero_sent", c.PriZeroSent)
		s.end()
		top.end()
	}
	b.WriteByte(']')
	return b.Bytes()
}

// writeData writes an instance's "data" object.
func (oi *opsInstance) writeData(b *bytes.Buffer) {
	c := oi.cfg
	st := vrrp.Stats{State: vrrp.StateInit, Priority: c.Priority}
	if oi.in != nil {
		st = oi.in.Stats()
	}
	version := vrrpVersion(c)
	// keepalived's master_priority is the priority in the last advert
	// received from another master; the vrrp package does not report it,
	// and a master has none: 0.
	master := uint64(0)
	garpDelay := c.GARP.Delay
	if garpDelay == 0 {
		garpDelay = 5 * time.Second
	}
	if garpDelay < 0 {
		garpDelay = 0
	}
	d := newObject(b)
	d.str("iname", c.Name)
	d.uint("dont_track_primary", b2u(c.DontTrackPrimary))
	d.uint("skip_check_adv_addr", b2u(!c.CheckAddrs))
	d.uint("strict_mode", b2u(c.FilterNonAccept))
	d.str("vmac_ifname", c.VMACName)
	d.str("ifp_ifname", c.Interface)
	d.uint("master_priority", master)
	d.float("last_transition", float64(oi.last.UnixMicro())/1e6)
	d.float("garp_delay", garpDelay.Seconds())
	d.uint("garp_refresh", uint64(c.GARP.Refresh/time.Second))
	d.uint("garp_rep", uint64(cmpInt(c.GARP.Repeat, 5)))
	d.uint("garp_refresh_rep", uint64(cmpInt(c.GARP.RefreshRepeat, 1)))
	d.uint("garp_lower_prio_delay", uint64(garpDelay/time.Second))
	d.uint("garp_lower_prio_rep", uint64(cmpInt(c.GARP.Repeat, 5)))
	d.uint("lower_prio_no_advert", 0)
	d.uint("higher_prio_send_advert", 0)
	d.uint("vrid", uint64(c.VRID))
	d.uint("base_priority", uint64(c.Priority))
	d.uint("effective_priority", uint64(st.Priority))
	d.bool("vipset", st.State == vrrp.StateMaster)
	d.bool("promote_secondaries", false)
	d.float("adver_int", c.Interval.Seconds())
	d.float("master_adver_int", c.Interval.Seconds())
	// Without vrrp_strict nothing is dropped: keepalived's accept mode.
	d.uint("accept", b2u(c.Accept || !c.FilterNonAccept))
	d.bool("nopreempt", c.NoPreempt)
	d.uint("preempt_delay", uint64(c.PreemptDelay/time.Second))
	d.uint("state", stateNumber(st.State))
	d.uint("wantstate", stateNumber(st.State))
	d.uint("version", uint64(version))
	d.bool("smtp_alert", false)
	d.bool("notify_deleted", false)
	for _, s := range []struct {
		k    string
		argv []string
	}{{"script_backup", c.Notify.Backup}, {"script_master", c.Notify.Master}, {"script_fault", c.Notify.Fault}, {"script_stop", c.Notify.Stop}, {"script", c.Notify.Notify}} {
		if len(s.argv) > 0 {
			d.str(s.k, cmdString(s.argv))
		}
	}
	var vips []string
	for _, v := range c.VIPs {
		s := vipString(v, c.Interface)
		if st.State == vrrp.StateMaster {
			s += " set" // keepalived marks the addresses it has added
		}
		vips = append(vips, s)
	}
	d.strs("vips", vips)
	var tifs, tscripts []string
	for _, t := range c.TrackInterfaces {
		tifs = append(tifs, t.Name)
	}
	for _, t := range c.TrackScripts {
		tscripts = append(tscripts, cmdString(t.Command))
	}
	d.strs("track_ifp", tifs)
	d.strs("track_script", tscripts)
	d.uint("auth_type", uint64(c.AuthType))
	if c.AuthType != 0 {
		d.str("auth_data", c.AuthPass)
	}
	d.end()
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func cmpInt(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// dataText is /tmp/keepalived.data (SIGUSR1): the global definitions
// (dump_data.go) and the VRRP topology in the layout and with the labels
// of keepalived 2.2.7's dump_vrrp, for the lines lvsrouter knows
// (keepalived also dumps its sockets, interfaces and internals, which
// have no counterpart here).
func (r *Router) dataText() []byte {
	// r.mu before o.mu, never inside it: desired() takes them in that
	// order.
	var b bytes.Buffer
	r.mu.Lock()
	if r.plan != nil {
		r.plan.Globals.text(&b, dumpVRRP)
	}
	r.mu.Unlock()
	o := &r.ops
	o.mu.Lock()
	defer o.mu.Unlock()
	b.WriteString("------< VRRP Topology >------\n")
	for _, oi := range o.sorted() {
		c := oi.cfg
		st := vrrp.Stats{State: vrrp.StateInit, Priority: c.Priority}
		if oi.in != nil {
			st = oi.in.Stats()
		}
		version := vrrpVersion(c)
		fmt.Fprintf(&b, " VRRP Instance = %s\n", c.Name)
		fmt.Fprintf(&b, "   VRRP Version = %d\n", version)
		fmt.Fprintf(&b, "   State = %s\n", st.State)
		// keepalived prints "Master router" and "Master priority" in
		// BACKUP, from the master's adverts: the vrrp package does not
		// report them, so neither line is printed.
		fmt.Fprintf(&b, "   Wantstate = %s\n", st.State)
		fmt.Fprintf(&b, "   Last transition = %d.%06d (%s)\n", oi.last.Unix(), oi.last.Nanosecond()/1000, oi.last.Format("Mon Jan _2 15:04:05 2006"))
		fmt.Fprintf(&b, "   Interface = %s\n", c.Interface)
		fmt.Fprintf(&b, "   Virtual Router ID = %d\n", c.VRID)
		fmt.Fprintf(&b, "   Priority = %d\n", c.Priority)
		fmt.Fprintf(&b, "   Effective priority = %d\n", st.Priority)
		if version == 2 {
			fmt.Fprintf(&b, "   Advert interval = %d sec\n", c.Interval/time.Second)
		} else {
			fmt.Fprintf(&b, "   Advert interval = %d milli-sec\n", c.Interval/time.Millisecond)
		}
		// Without vrrp_strict nothing is dropped: keepalived's accept mode.
		fmt.Fprintf(&b, "   Accept = %s\n", enabled(c.Accept || !c.FilterNonAccept))
		fmt.Fprintf(&b, "   Preempt = %s\n", enabled(!c.NoPreempt))
		if c.AuthType != 0 {
			fmt.Fprintf(&b, "   Authentication type = SIMPLE_PASSWORD\n")
			fmt.Fprintf(&b, "   Password = %s\n", c.AuthPass)
		} else {
			fmt.Fprintf(&b, "   Authentication type = none\n")
		}
		if len(c.VIPs) > 0 {
			fmt.Fprintf(&b, "   Virtual IP (%d):\n", len(c.VIPs))
			for _, v := range c.VIPs {
				set := ""
				if st.State == vrrp.StateMaster {
					set = " set" // keepalived marks the addresses it has added
				}
				fmt.Fprintf(&b, "     %s%s\n", vipString(v, c.Interface), set)
			}
		}
	}
	return b.Bytes()
}

func enabled(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

// vrrpVersion is the VRRP version an instance runs: vrrp.Config's 0 means
// 2 for IPv4 (keepalived's default) and 3 for IPv6.
func vrrpVersion(c vrrp.Config) uint8 {
	if c.Version != 0 {
		return c.Version
	}
	if len(c.VIPs) > 0 && c.VIPs[0].Prefix.Addr().Is6() {
		return 3
	}
	return 2
}
