package main

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lvskit/lvskit/ipvs"
)

// This file renders services the way ipvsadm 1.31 lists (-L -n) and saves
// (-S -n) them, byte for byte: ipvsadm's output format belongs to this
// command, not to the ipvs package.

// schedFlags are the scheduler-specific service flags.
const schedFlags = ipvs.SchedFlag1 | ipvs.SchedFlag2 | ipvs.SchedFlag3

// listOptions select ipvsadm's listing variants.
type listOptions struct {
	stats          bool // --stats
	rate           bool // --rate
	thresholds     bool // --thresholds
	persistentConn bool // --persistent-conn
	tunnelInfo     bool // --tun-info
	exact          bool // --exact: full numbers instead of K/M/G/T
	noSort         bool // --nosort: kernel order
}

// writeList writes what `ipvsadm -L -n` prints for svcs (with their
// Destinations filled): the version line, the column titles and every
// service and destination, sorted as ipvsadm sorts them.
func writeList(w io.Writer, info ipvs.Info, svcs []ipvs.Service, o listOptions) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "IP Virtual Server version %s (size=%d)\n", info.VersionString(), info.ConnTableSize)
	writeEntries(bw, svcs, o, false)
	return bw.Flush()
}

// writeServiceList writes what `ipvsadm -L -n -t ADDR` (one service)
// prints: the titles and the one service, without the version line.
func writeServiceList(w io.Writer, svc ipvs.Service, o listOptions) error {
	bw := bufio.NewWriter(w)
	writeEntries(bw, []ipvs.Service{svc}, o, false)
	return bw.Flush()
}

// writeRules writes what `ipvsadm -S -n` prints: one -A line per service,
// one -a line per destination, in ipvsadm's order unless o.noSort (the only
// option the save format reads).
func writeRules(w io.Writer, svcs []ipvs.Service, o listOptions) error {
	bw := bufio.NewWriter(w)
	writeEntries(bw, svcs, listOptions{noSort: o.noSort}, true)
	return bw.Flush()
}

func writeEntries(w *bufio.Writer, svcs []ipvs.Service, o listOptions, rule bool) {
	list := make([]*ipvs.Service, len(svcs))
	for i := range svcs {
		list[i] = &svcs[i]
	}
	if !o.noSort {
		msort(list, cmpServices)
	}
	if !rule {
		writeTitle(w, o)
	}
	for _, s := range list {
		writeService(w, s, o, rule)
	}
}

func writeTitle(w *bufio.Writer, o listOptions) {
	switch {
	case o.stats:
		fmt.Fprintf(w, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes")
	case o.rate:
		fmt.Fprintf(w, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS")
	case o.thresholds:
		fmt.Fprintf(w, "%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn", "InActConn")
	case o.persistentConn:
		fmt.Fprintf(w, "%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Weight", "PersistConn", "ActiveConn", "InActConn")
	case o.tunnelInfo:
		w.WriteString("Prot LocalAddress:Port Scheduler Flags\n" +
			"  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n")
	default:
		w.WriteString("Prot LocalAddress:Port Scheduler Flags\n" +
			"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n")
	}
}

// addrPortName formats an address and port as ipvsadm does with -n.
func addrPortName(ap netip.AddrPort) string {
	a := ap.Addr()
	if a.Is4() {
		return a.String() + ":" + strconv.Itoa(int(ap.Port()))
	}
	return "[" + a.String() + "]:" + strconv.Itoa(int(ap.Port()))
}

// cName renders a string the way C's printf renders a NULL %s.
func cName(s string) string {
	if s == "" {
		return "(null)"
	}
	return s
}

func protoName(p ipvs.Protocol) string {
	switch p {
	case ipvs.TCP, ipvs.UDP, ipvs.SCTP:
		return strings.ToUpper(p.String())
	}
	return ""
}

func protoSwitch(p ipvs.Protocol) string {
	switch p {
	case ipvs.TCP:
		return "-t"
	case ipvs.UDP:
		return "-u"
	case ipvs.SCTP:
		return "--sctp-service"
	}
	return "--xxx-service"
}

// schedFlagNames lists the scheduler flags with the scheduler's names.
func schedFlagNames(s *ipvs.Service) string {
	var names []string
	n1, n2 := "flag-1", "flag-2"
	switch s.Scheduler {
	case "sh":
		n1, n2 = "sh-fallback", "sh-port"
	case "mh":
		n1, n2 = "mh-fallback", "mh-port"
	}
	if s.Flags&ipvs.SchedFlag1 != 0 {
		names = append(names, n1)
	}
	if s.Flags&ipvs.SchedFlag2 != 0 {
		names = append(names, n2)
	}
	if s.Flags&ipvs.SchedFlag3 != 0 {
		names = append(names, "flag-3")
	}
	return strings.Join(names, ",")
}

// dottedMask renders an IPv4 netmask kept as a big-endian number.
func dottedMask(m uint32) string {
	return fmt.Sprintf("%d.%d.%d.%d", m>>24, m>>16&0xff, m>>8&0xff, m&0xff)
}

func writeService(w *bufio.Writer, s *ipvs.Service, o listOptions, rule bool) {
	fam := s.Key().Family
	var name string
	if s.FWMark != 0 {
		switch {
		case rule && fam == ipvs.IPv6:
			name = fmt.Sprintf("-f %d -6", s.FWMark)
		case rule:
			name = fmt.Sprintf("-f %d", s.FWMark)
		case fam == ipvs.IPv6:
			name = fmt.Sprintf("FWM  %d IPv6", s.FWMark)
		default:
			name = fmt.Sprintf("FWM  %d", s.FWMark)
		}
	} else {
		v := addrPortName(s.Addr)
		if rule {
			name = protoSwitch(s.Protocol) + " " + v
		} else {
			name = fmt.Sprintf("%-4s %s", cName(protoName(s.Protocol)), v)
			if fam != ipvs.IPv6 && len(name) > 33 {
				name = name[:33]
			}
		}
	}
	timeout := uint32(s.Timeout.Seconds())
	persistent := s.Flags&ipvs.FlagPersistent != 0
	switch {
	case rule:
		fmt.Fprintf(w, "-A %s -s %s", name, s.Scheduler)
		if persistent {
			fmt.Fprintf(w, " -p %d", timeout)
			if fam == ipvs.IPv4 && s.Netmask != 0xffffffff {
				fmt.Fprintf(w, " -M %s", dottedMask(s.Netmask))
			}
			if fam == ipvs.IPv6 && s.Netmask != 128 {
				fmt.Fprintf(w, " -M %d", int32(s.Netmask))
			}
		}
		if s.PersistenceEngine != "" {
			fmt.Fprintf(w, " --pe %s", s.PersistenceEngine)
		}
		if s.Flags&ipvs.FlagOnePacket != 0 {
			w.WriteString(" -o")
		}
		if s.Flags&schedFlags != 0 {
			w.WriteString(" -b " + schedFlagNames(s))
		}
	case o.stats:
		fmt.Fprintf(w, "%-33s", name)
		writeNums(w, o.exact, s.Stats.Conns, s.Stats.InPkts, s.Stats.OutPkts, s.Stats.InBytes, s.Stats.OutBytes)
	case o.rate:
		fmt.Fprintf(w, "%-33s", name)
		writeNums(w, o.exact, s.Stats.CPS, s.Stats.InPPS, s.Stats.OutPPS, s.Stats.InBPS, s.Stats.OutBPS)
	default:
		fmt.Fprintf(w, "%s %s", name, s.Scheduler)
		if s.Flags&schedFlags != 0 {
			w.WriteString(" (" + schedFlagNames(s) + ")")
		}
		if persistent {
			fmt.Fprintf(w, " persistent %d", timeout)
			if fam == ipvs.IPv4 && s.Netmask != 0xffffffff {
				fmt.Fprintf(w, " mask %s", dottedMask(s.Netmask))
			}
			if fam == ipvs.IPv6 && s.Netmask != 128 {
				fmt.Fprintf(w, " mask %d", int32(s.Netmask))
			}
			// ipvsadm names the engine only for persistent services.
			if s.PersistenceEngine != "" {
				fmt.Fprintf(w, " pe %s", s.PersistenceEngine)
			}
		}
		if s.Flags&ipvs.FlagOnePacket != 0 {
			w.WriteString(" ops")
		}
	}
	w.WriteByte('\n')

	dests := make([]*ipvs.Destination, len(s.Destinations))
	for i := range s.Destinations {
		dests[i] = &s.Destinations[i]
	}
	if !o.noSort {
		msort(dests, cmpDests)
	}
	for _, d := range dests {
		dname := addrPortName(d.Addr)
		if !rule && fam != ipvs.IPv6 && len(dname) > 28 {
			dname = dname[:28]
		}
		switch {
		case rule:
			writeDestRule(w, name, dname, d)
		case o.stats:
			fmt.Fprintf(w, "  -> %-28s", dname)
			writeNums(w, o.exact, d.Stats.Conns, d.Stats.InPkts, d.Stats.OutPkts, d.Stats.InBytes, d.Stats.OutBytes)
			w.WriteByte('\n')
		case o.rate:
			fmt.Fprintf(w, "  -> %-28s %8d %8d %8d", dname, d.Stats.CPS, d.Stats.InPPS, d.Stats.OutPPS)
			writeNums(w, o.exact, d.Stats.InBPS, d.Stats.OutBPS)
			w.WriteByte('\n')
		case o.thresholds:
			fmt.Fprintf(w, "  -> %-28s %-10d %-10d %-10d %-10d\n", dname,
				d.UpperThreshold, d.LowerThreshold, d.ActiveConns, d.InactiveConns)
		case o.persistentConn:
			fmt.Fprintf(w, "  -> %-28s %-9d %-11d %-10d %-10d\n", dname,
				uint32(d.Weight), d.PersistentConns, d.ActiveConns, d.InactiveConns)
		case o.tunnelInfo:
			fmt.Fprintf(w, "  -> %-28s %-7s %-13s %-6d %-10d %-10d\n", dname, fwdName(d.Forward),
				tunInfo(d), d.Weight, d.ActiveConns, d.InactiveConns)
		default:
			fmt.Fprintf(w, "  -> %-28s %-7s %-6d %-10d %-10d\n", dname, fwdName(d.Forward),
				d.Weight, d.ActiveConns, d.InactiveConns)
		}
	}
}

func fwdName(m ipvs.ForwardMethod) string {
	if m > ipvs.Route {
		return "(null)"
	}
	return m.String()
}

func fwdSwitch(m ipvs.ForwardMethod) string {
	switch m {
	case ipvs.Masquerade:
		return "-m"
	case ipvs.Tunnel:
		return "-i"
	case ipvs.Local, ipvs.Route:
		return "-g"
	}
	return "(null)"
}

var tunFlagNames = [...]string{"-c", "+c", "r+c"}

func tunFlagName(f ipvs.TunnelFlags) string {
	if int(f) < len(tunFlagNames) {
		return tunFlagNames[f]
	}
	return "(null)"
}

var tunFlagOpts = [...]string{"--tun-nocsum", "--tun-csum", "--tun-remcsum"}

func tunFlagOpt(f ipvs.TunnelFlags) string {
	if int(f) < len(tunFlagOpts) {
		return tunFlagOpts[f]
	}
	return "(null)"
}

func tunInfo(d *ipvs.Destination) string {
	if d.Forward != ipvs.Tunnel {
		return "n/a"
	}
	switch d.TunnelType {
	case ipvs.TunnelIPIP:
		return "ipip"
	case ipvs.TunnelGUE:
		return fmt.Sprintf("gue:%d:%s", d.TunnelPort, tunFlagName(d.TunnelFlags))
	case ipvs.TunnelGRE:
		return "gre:" + tunFlagName(d.TunnelFlags)
	}
	return "n/a"
}

func writeDestRule(w *bufio.Writer, svc, dname string, d *ipvs.Destination) {
	if d.Forward != ipvs.Tunnel {
		fmt.Fprintf(w, "-a %s -r %s %s -w %d\n", svc, dname, fwdSwitch(d.Forward), d.Weight)
		return
	}
	switch d.TunnelType {
	case ipvs.TunnelGUE:
		fmt.Fprintf(w, "-a %s -r %s %s -w %d --tun-type %s --tun-port %d %s\n",
			svc, dname, fwdSwitch(d.Forward), d.Weight, d.TunnelType, d.TunnelPort, tunFlagOpt(d.TunnelFlags))
	case ipvs.TunnelGRE:
		fmt.Fprintf(w, "-a %s -r %s %s -w %d --tun-type %s %s\n",
			svc, dname, fwdSwitch(d.Forward), d.Weight, d.TunnelType, tunFlagOpt(d.TunnelFlags))
	case ipvs.TunnelIPIP:
		fmt.Fprintf(w, "-a %s -r %s %s -w %d --tun-type %s\n",
			svc, dname, fwdSwitch(d.Forward), d.Weight, d.TunnelType)
	default:
		fmt.Fprintf(w, "-a %s -r %s %s -w %d\n", svc, dname, fwdSwitch(d.Forward), d.Weight)
	}
}

// writeNums prints counters as ipvsadm's print_largenum does: nine columns,
// scaled to K, M, G or T above 10^8 unless exact.
func writeNums(w *bufio.Writer, exact bool, vs ...uint64) {
	for _, v := range vs {
		w.WriteString(largeNum(v, exact))
	}
}

func largeNum(i uint64, exact bool) string {
	if exact {
		s := strconv.FormatUint(i, 10)
		width := 9
		if len(s) > 8 {
			width = len(s) + 1
		}
		return fmt.Sprintf("%*s", width, s)
	}
	switch {
	case i < 100000000:
		return fmt.Sprintf("%9d", i)
	case i < 1000000000:
		return fmt.Sprintf("%8dK", i/1000)
	case i < 100000000000:
		return fmt.Sprintf("%8dM", i/1000000)
	case i < 100000000000000:
		return fmt.Sprintf("%8dG", i/1000000000)
	}
	return fmt.Sprintf("%8dT", i/1000000000000)
}

// --- ipvsadm's sort order ---
//
// libipvs compares entries by subtracting unsigned 32-bit fields and
// reading the difference as a C int, so addresses more than 2^31 apart
// compare "backwards", and it sorts with glibc's qsort, a merge sort. Both
// are reproduced here, so the order matches even where the comparison is not
// a true order.

// cdiff is (int)(a - b) for C unsigned ints.
func cdiff(a, b uint32) int { return int(int32(a - b)) }

func addrWords(a netip.Addr) (w [4]uint32, v6 bool) {
	if a.Is4() {
		b := a.As4()
		w[0] = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		return w, false
	}
	b := a.As16()
	for i := range w {
		w[i] = uint32(b[4*i])<<24 | uint32(b[4*i+1])<<16 | uint32(b[4*i+2])<<8 | uint32(b[4*i+3])
	}
	return w, true
}

func cmpAddrs(a, b netip.Addr, v6 bool) int {
	wa, _ := addrWords(a)
	wb, _ := addrWords(b)
	if !v6 {
		return cdiff(wa[0], wb[0])
	}
	r := 0
	for i := 0; r == 0 && i < 4; i++ {
		r = cdiff(wa[i], wb[i])
	}
	return r
}

func cmpServices(a, b *ipvs.Service) int {
	if r := cdiff(a.FWMark, b.FWMark); r != 0 {
		return r
	}
	ka, kb := a.Key(), b.Key()
	if r := int(ka.Family) - int(kb.Family); r != 0 {
		return r
	}
	// For fwmark services libipvs sees protocol TCP and address zero.
	pa, pb := int(a.Protocol), int(b.Protocol)
	if a.FWMark != 0 {
		pa = int(ipvs.TCP)
	}
	if b.FWMark != 0 {
		pb = int(ipvs.TCP)
	}
	if r := pa - pb; r != 0 {
		return r
	}
	if r := cmpAddrs(zeroIfInvalid(a.Addr.Addr(), ka.Family), zeroIfInvalid(b.Addr.Addr(), kb.Family), ka.Family == ipvs.IPv6); r != 0 {
		return r
	}
	return int(a.Addr.Port()) - int(b.Addr.Port())
}

func zeroIfInvalid(a netip.Addr, f ipvs.Family) netip.Addr {
	if a.IsValid() {
		return a
	}
	if f == ipvs.IPv6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

func cmpDests(a, b *ipvs.Destination) int {
	_, v6 := addrWords(a.Addr.Addr())
	// libipvs decides by the first entry's family and reads the other
	// entry's address union in that family.
	if r := cmpAddrs(a.Addr.Addr(), asFamily(b.Addr.Addr(), v6), v6); r != 0 {
		return r
	}
	return int(a.Addr.Port()) - int(b.Addr.Port())
}

// asFamily reinterprets an address's kernel union in the other family: an
// IPv6 address read as IPv4 is its first four bytes; an IPv4 one read as
// IPv6 is followed by zeros.
func asFamily(a netip.Addr, v6 bool) netip.Addr {
	if a.Is4() == !v6 {
		return a
	}
	if v6 {
		var b [16]byte
		v := a.As4()
		copy(b[:], v[:])
		return netip.AddrFrom16(b)
	}
	v := a.As16()
	return netip.AddrFrom4([4]byte(v[:4]))
}

// msort is glibc's merge sort (msort_with_tmp): split at n/2, sort both
// halves, merge taking from the left while cmp(left, right) <= 0.
func msort[T any](s []*T, cmp func(a, b *T) int) {
	if len(s) < 2 {
		return
	}
	tmp := make([]*T, len(s))
	msortRec(s, tmp, cmp)
}

func msortRec[T any](s, tmp []*T, cmp func(a, b *T) int) {
	n := len(s)
	if n <= 1 {
		return
	}
	n1 := n / 2
	b1, b2 := s[:n1], s[n1:]
	msortRec(b1, tmp, cmp)
	msortRec(b2, tmp, cmp)
	i, j, k := 0, 0, 0
	for i < len(b1) && j < len(b2) {
		if cmp(b1[i], b2[j]) <= 0 {
			tmp[k] = b1[i]
			i++
		} else {
			tmp[k] = b2[j]
			j++
		}
		k++
	}
	k += copy(tmp[k:], b1[i:])
	copy(s, tmp[:k])
}
