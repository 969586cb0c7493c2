package main

import (
	"bytes"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/keepalivedconf"
)

// dumpGlobals are the global_defs values that keepalived's data dumps
// print and lvsrouter acts on; every other line of the "Global
// definitions" section prints keepalived's default, which is what
// lvsrouter runs with (it refuses or reports as having no effect the
// keywords that would change them).
type dumpGlobals struct {
	RouterID       string
	VRRPVersion    int
	Strict         bool
	ScriptSecurity bool
	ScriptUser     string
}

// newDumpGlobals reads them from global_defs (nil: all defaults).
func newDumpGlobals(g *keepalivedconf.GlobalDefs) dumpGlobals {
	var d dumpGlobals
	if g != nil {
		d = dumpGlobals{RouterID: g.RouterID, VRRPVersion: g.VRRPVersion, Strict: g.VRRPStrict,
			ScriptSecurity: g.EnableScriptSecurity, ScriptUser: g.ScriptUser}
	}
	if d.RouterID == "" {
		d.RouterID, _ = os.Hostname() // keepalived's default router_id
	}
	return d
}

// dumpProcess is which of keepalived's processes a global section stands
// for: the lines differ slightly between them.
type dumpProcess int

const (
	dumpParent dumpProcess = iota
	dumpVRRP
	dumpCheck
)

// globalsText is keepalived 2.2.7's dump_global_data, the "Global
// definitions" section that starts each of its data files. Two lines are
// left out because they describe keepalived's build (its nftables
// counters and libnftnl version), as is its umask line.
func (g dumpGlobals) text(b *bytes.Buffer, proc dumpProcess) {
	w := func(format string, args ...any) { fmt.Fprintf(b, " "+format+"\n", args...) }
	b.WriteString("------< Global definitions >------\n")
	w("Network namespace = (default)")
	w("Network namespace ipvs = (main namespace)")
	w("Router ID = %s", g.RouterID)
	w("Default smtp_alert = unset")
	w("Default smtp_alert_vrrp = unset")
	w("Default smtp_alert_checker = unset")
	w("Checkers log all failures = false")
	w("No test config before reload")
	w("Dynamic interfaces = false")
	if proc == dumpVRRP {
		w("Default interface = eth0")
	}
	w("Disable local IGMP = no")
	w("LVS flush = false")
	w("LVS flush on stop = disabled")
	w("FIFO write vrrp states on reload = false")
	w("VRRP notify priority changes = false")
	w("VRRP IPv4 mcast group = 224.0.0.18")
	w("VRRP IPv6 mcast group = ff02::12")
	w("Gratuitous ARP delay = 5")
	w("Gratuitous ARP repeat = 5")
	w("Gratuitous ARP refresh timer = 0")
	w("Gratuitous ARP refresh repeat = 1")
	// keepalived resolves the lower-priority defaults in its VRRP process
	// only; the others print them unset.
	if proc == dumpVRRP {
		w("Gratuitous ARP lower priority delay = 5")
		w("Gratuitous ARP lower priority repeat = 5")
	} else {
		w("Gratuitous ARP lower priority delay = 4294967295")
		w("Gratuitous ARP lower priority repeat = 4294967295")
	}
	w("Num adverts before down = 3")
	w("Gratuitous ARP for each secondary VMAC = 0s")
	w("Send advert after receive lower priority advert = true")
	w("Send advert after receive higher priority advert = false")
	w("Gratuitous ARP interval = 0.000000")
	w("Gratuitous NA interval = 0.000000")
	w("VRRP default protocol version = %d", cmpInt(g.VRRPVersion, 2))
	w("VRRP check unicast_src = false")
	w("VRRP skip check advert addresses = false")
	w("VRRP strict mode = %t", g.Strict)
	w("Max auto priority = 0")
	w("Min auto priority delay = 1000000 usecs")
	for _, p := range []string{"VRRP", "Checker", "BFD"} {
		w("%s process priority = 0", p)
		w("%s don't swap = false", p)
		w("%s realtime priority = 0", p)
		w("%s realtime limit = 10000", p)
	}
	for _, s := range []string{"SNMP vrrp", "SNMP checker", "SNMP RFCv2", "SNMP RFCv3", "SNMP traps"} {
		w("%s disabled", s)
	}
	w("SNMP socket = default (unix:/var/agentx/master)")
	w("DBus disabled")
	w("DBus service name = ")
	if g.ScriptSecurity {
		w("Script security enabled")
	} else {
		w("Script security disabled")
	}
	uid, gid := "0", "0"
	if g.ScriptUser != "" {
		if u, err := user.Lookup(g.ScriptUser); err == nil {
			uid, gid = u.Uid, u.Gid
		}
	}
	w("Default script uid:gid %s:%s", uid, gid)
	for _, k := range []string{"vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_monitor_rcv_bufs", "process_monitor_rcv_bufs", "lvs_netlink_cmd_rcv_bufs", "lvs_netlink_monitor_rcv_bufs"} {
		w("%s = 0", k)
		w("%s_force = 0", k)
	}
	w("rs_init_notifies = 0")
	w("no_checker_emails = 0")
	w("rx_bufs_multiples = 3")
}

// checkDataText is keepalived_check.data, what keepalived's checker
// process writes on SIGUSR1: the global section, the LVS topology
// (dump_vs, dump_rs) and the health checkers (dump_checker), for what
// lvsrouter runs. Not printed yet: the lines of persistence, sorry
// servers, virtualhost, notify scripts and the checker types other than
// TCP_CHECK beyond their method name.
func (r *Router) checkDataText() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b bytes.Buffer
	if r.plan == nil {
		return nil
	}
	r.plan.Globals.text(&b, dumpCheck)
	w := func(indent int, format string, args ...any) {
		fmt.Fprintf(&b, "%*s"+format+"\n", append([]any{indent, ""}, args...)...)
	}
	w(0, "------< LVS Topology >------")
	w(1, "System is compiled with LVS v1.2.1")
	for i, vs := range r.plan.Services {
		s := vs.Service
		w(1, "------< Virtual server >------")
		if s.FWMark != 0 {
			w(1, "VS FWMARK = %d", s.FWMark)
		} else {
			w(1, "VS VIP = %s, VPORT = %d", s.Addr.Addr(), s.Addr.Port())
		}
		fam := "inet"
		if s.Family == ipvs.IPv6 {
			fam = "inet6"
		}
		w(3, "Address family = %s", fam)
		w(3, "connection timeout = %f", 5.0)
		w(3, "delay_loop = %f", vsDelayLoop(vs).Seconds())
		w(3, "lvs_sched = %s", s.Scheduler)
		w(3, "Hashed = %s", enabled(s.Flags&ipvs.FlagHashed != 0))
		w(3, "flag-1 = %s", enabled(s.Flags&ipvs.SchedFlag1 != 0))
		w(3, "flag-2 = %s", enabled(s.Flags&ipvs.SchedFlag2 != 0))
		w(3, "flag-3 = %s", enabled(s.Flags&ipvs.SchedFlag3 != 0))
		w(3, "One packet scheduling = %s", enabled(s.Flags&ipvs.FlagOnePacket != 0))
		w(3, "protocol = %s", protoName(s.Protocol))
		alpha, omega := false, false
		if p, ok := firstPolicy(vs); ok {
			alpha, omega = p.Alpha, p.Omega
		}
		w(3, "alpha is %s", onOff(alpha))
		w(3, "omega is %s", onOff(omega))
		inhibit := len(vs.Reals) > 0 && vs.Reals[0].Inhibit
		w(3, "Inhibit on failure is %s", onOff(inhibit))
		w(3, "quorum = %d, hysteresis = %d", vs.Quorum, vs.Hysteresis)
		if vs.HASuspend {
			w(3, "Using HA suspend")
		}
		w(3, "Using smtp notification = no")
		fwd := ipvs.Masquerade
		if len(vs.Reals) > 0 {
			fwd = vs.Reals[0].Dest.Forward
		}
		w(3, "default forwarding method = %s", fwdName(fwd))
		quorumUp, seen := stateAt(r.quorum, i)
		alive := 0
		for _, rs := range vs.Reals {
			if r.realUp(rs) {
				alive += rs.Dest.Weight
			}
		}
		if !seen {
			quorumUp = alive >= vs.Quorum
		}
		w(3, "alive = %d", b2u(quorumUp))
		w(3, "quorum_state_up = %d", b2u(quorumUp))
		w(3, "reloaded = 0")
		for _, rs := range vs.Reals {
			d := rs.Dest
			up := r.realUp(rs)
			eff := d.Weight
			for _, c := range rs.Checks {
				if wt, ok := r.weight[c.ID]; ok {
					eff = wt
				}
			}
			failed := 0
			for _, c := range rs.Checks {
				if r.down[c.ID] {
					failed++
				}
			}
			w(3, "------< Real server >------")
			w(3, "RIP = %s, RPORT = %d, WEIGHT = %d EFF WEIGHT = %d", d.Addr.Addr(), d.Addr.Port(), d.Weight, eff)
			w(3, "forwarding method = %s", fwdName(d.Forward))
			ra := false
			if p, ok := firstPolicyOf(rs); ok {
				ra = p.Alpha
			}
			w(3, "Alpha is %s", onOff(ra))
			w(3, "connection timeout = %f", 5.0)
			w(3, "connection limit range = %d -> %d", d.LowerThreshold, d.UpperThreshold)
			w(3, "Delay loop = %f", rsDelayLoop(rs, vs).Seconds())
			w(3, "Inhibit on failure is %s", onOff(rs.Inhibit))
			w(3, "Using smtp notification = yes")
			w(3, "initial weight = %d", d.Weight)
			w(3, "effective weight = %d", eff)
			w(3, "previous effective_weight = 0")
			w(3, "alive = %d", b2u(up))
			w(3, "num failed checkers = %d", failed)
			w(3, "RS set = %d", b2u(up || rs.Inhibit))
			w(3, "reloaded = 0")
		}
	}
	w(0, "------< Health checkers >------")
	for _, vs := range r.plan.Services {
		for _, rs := range vs.Reals {
			for _, c := range rs.Checks {
				w(1, "%s -> %s", vsString(vs.Service.Key()), trio(rs.Dest.Addr, vs.Service.Protocol))
				w(3, "Enabled = %s", yesNo(!r.hs.isSuspended(c.ID)))
				w(3, "Up = %s", yesNo(!r.down[c.ID]))
				w(3, "Has run = yes")
				w(3, "Current weight = 0")
				p, _ := c.Policy.(check.Keepalived)
				dl := cmpDur(p.DelayLoop, 60*time.Second)
				w(3, "Alpha = %s", yesNo(p.Alpha))
				w(3, "Delay loop = %d us", dl.Microseconds())
				w(3, "Warmup = %d us", cmpDur(p.Warmup, dl).Microseconds())
				w(3, "Retries = %d", cmpInt(p.Retry, 1))
				w(3, "Delay before retry = %d us", cmpDur(p.DelayBeforeRetry, dl).Microseconds())
				w(3, "Retries iterations = 0")
				w(3, "Default delay before retry = %d us", cmpDur(p.DelayBeforeRetry, dl).Microseconds())
				w(3, "Log all failures = no")
				switch ck := c.Checker.(type) {
				case check.TCP:
					w(3, "Connection")
					w(5, "Dest = [%s]:%d", ck.Addr.Addr(), ck.Addr.Port())
					if ck.Bind.IsValid() {
						w(5, "Bind to = [%s]:%d", ck.Bind.Addr(), ck.Bind.Port())
					}
					w(5, "Timeout = %f", cmpDur(ck.Timeout, 5*time.Second).Seconds())
					w(3, "Keepalive method = TCP_CHECK")
				default:
					w(3, "Keepalive method = %s", checkMethod(c.Checker))
				}
			}
		}
	}
	return b.Bytes()
}

// realUp is whether all of a real server's checks pass (r.mu held).
func (r *Router) realUp(rs RealServer) bool {
	for _, c := range rs.Checks {
		if r.down[c.ID] {
			return false
		}
	}
	return true
}

func firstPolicyOf(rs RealServer) (check.Keepalived, bool) {
	for _, c := range rs.Checks {
		if p, ok := c.Policy.(check.Keepalived); ok {
			return p, true
		}
	}
	return check.Keepalived{}, false
}

func firstPolicy(vs VirtualService) (check.Keepalived, bool) {
	for _, rs := range vs.Reals {
		if p, ok := firstPolicyOf(rs); ok {
			return p, true
		}
	}
	return check.Keepalived{}, false
}

// vsDelayLoop is the service's delay_loop as its checks run it
// (keepalived's default 60 s).
func vsDelayLoop(vs VirtualService) time.Duration {
	p, _ := firstPolicy(vs)
	return cmpDur(p.DelayLoop, 60*time.Second)
}

func rsDelayLoop(rs RealServer, vs VirtualService) time.Duration {
	if p, ok := firstPolicyOf(rs); ok {
		return cmpDur(p.DelayLoop, 60*time.Second)
	}
	return vsDelayLoop(vs)
}

func cmpDur(a, b time.Duration) time.Duration {
	if a > 0 {
		return a
	}
	return b
}

func onOff(b bool) string {
	if b {
		return "ON"
	}
	return "OFF"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// protoName is keepalived's protocol line: TCP, UDP, SCTP.
func protoName(p ipvs.Protocol) string {
	switch p {
	case ipvs.TCP:
		return "TCP"
	case ipvs.UDP:
		return "UDP"
	case ipvs.SCTP:
		return "SCTP"
	}
	return "none"
}

// fwdName is keepalived's forwarding method name.
func fwdName(m ipvs.ForwardMethod) string {
	switch m {
	case ipvs.Masquerade:
		return "NAT"
	case ipvs.Route:
		return "DR"
	case ipvs.Tunnel:
		return "TUN"
	}
	return "LOCAL"
}

// checkMethod is keepalived's name for a checker type.
func checkMethod(c check.Checker) string {
	switch c := c.(type) {
	case check.TCP:
		return "TCP_CHECK"
	case *check.HTTP:
		if c.TLS {
			return "SSL_GET"
		}
		return "HTTP_GET"
	case check.DNS:
		return "DNS_CHECK"
	case check.Exec:
		return "MISC_CHECK"
	case check.File:
		return "FILE_CHECK"
	}
	return fmt.Sprintf("%T", c)
}

// writeOtherData writes, on SIGUSR1, the data files of keepalived's other
// processes: keepalived_parent.data (the global section) and, when the
// router runs virtual servers, keepalived_check.data.
func (r *Router) writeOtherData(log interface{ Warn(string, ...any) }) {
	r.mu.Lock()
	var b bytes.Buffer
	services := false
	if r.plan != nil {
		r.plan.Globals.text(&b, dumpParent)
		services = len(r.plan.Services) > 0
	}
	r.mu.Unlock()
	files := map[string][]byte{"keepalived_parent.data": b.Bytes()}
	if services {
		files["keepalived_check.data"] = r.checkDataText()
	}
	for name, data := range files {
		if err := writeDump(name, data); err != nil {
			log.Warn("state dump", "file", name, "err", err)
		}
	}
}
