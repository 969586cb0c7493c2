//go:build netns

package vrrp

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/mdlayher/packet"
	"golang.org/x/net/ipv4"
)

// observer timestamps VRRP adverts and gratuitous ARPs seen on a LAN from
// a namespace of its own.
type observer struct {
	mu     sync.Mutex
	adv    map[netip.Addr][]time.Time // by source
	garpBy map[string][]time.Time     // by sender MAC
	advMAC []string                   // distinct source MACs of adverts
	naMAC  []string                   // distinct source MACs of unsolicited NAs with Override
	conn   *packet.Conn
}

func newObserver(tb testing.TB, h *netns.NS) *observer {
	tb.Helper()
	o := &observer{adv: map[netip.Addr][]time.Time{}, garpBy: map[string][]time.Time{}}
	err := h.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		o.conn, err = packet.Listen(ifi, packet.Raw, 0x0003, nil) // ETH_P_ALL
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, _, err := o.conn.ReadFrom(buf)
			if err != nil {
				return
			}
			now := time.Now()
			f := buf[:n]
			if len(f) < 14 {
				continue
			}
			switch binary.BigEndian.Uint16(f[12:14]) {
			case 0x0800:
				ip := f[14:]
				if len(ip) >= 20 && ip[9] == Protocol {
					src := netip.AddrFrom4([4]byte(ip[12:16]))
					mac := net.HardwareAddr(f[6:12]).String()
					o.mu.Lock()
					if !slices.Contains(o.advMAC, mac) {
						o.advMAC = append(o.advMAC, mac)
					}
					o.adv[src] = append(o.adv[src], now)
					o.mu.Unlock()
				}
			case 0x86dd:
				ip := f[14:]
				if len(ip) < 40 {
					continue
				}
				mac := net.HardwareAddr(f[6:12]).String()
				switch {
				case ip[6] == Protocol:
					src := netip.AddrFrom16([16]byte(ip[8:24]))
					o.mu.Lock()
					if !slices.Contains(o.advMAC, mac) {
						o.advMAC = append(o.advMAC, mac)
					}
					o.adv[src] = append(o.adv[src], now)
					o.mu.Unlock()
				case ip[6] == 58 && len(ip) >= 48 && ip[40] == 136 && ip[44]&0x20 != 0: // NA, Override
					o.mu.Lock()
					if !slices.Contains(o.naMAC, mac) {
						o.naMAC = append(o.naMAC, mac)
					}
					o.mu.Unlock()
				}
			case 0x0806:
				a := f[14:]
				if len(a) >= 28 {
					mac := net.HardwareAddr(a[8:14]).String()
					o.mu.Lock()
					o.garpBy[mac] = append(o.garpBy[mac], now)
					o.mu.Unlock()
				}
			}
		}
	}()
	tb.Cleanup(func() { o.conn.Close(); <-done })
	return o
}

// lastBefore returns the last time in ts before t (zero if none).
func lastBefore(ts []time.Time, t time.Time) time.Time {
	var r time.Time
	for _, x := range ts {
		if x.Before(t) {
			r = x
		}
	}
	return r
}

// firstAfter returns the first time in ts after t (zero if none).
func firstAfter(ts []time.Time, t time.Time) time.Time {
	for _, x := range ts {
		if x.After(t) {
			return x
		}
	}
	return time.Time{}
}

// BenchmarkTakeover measures, for lvskit and keepalived as the backup in
// the same run, the time from the crashed master's last advert to the
// backup's first gratuitous ARP for the VIP (when it answers for it), at
// keepalived's default 1 s (VRRPv2) and at 10 ms (VRRPv3). The master is
// keepalived in every case.
func BenchmarkTakeover(b *testing.B) {
	for _, ivl := range []struct {
		name    string
		version int
		ivl     time.Duration
		adv     string
		flood   bool
	}{{"v2-1s", 2, time.Second, "1", false}, {"v3-10ms", 3, 10 * time.Millisecond, "0.01", false},
		{"v3-10ms-junk-flood", 3, 10 * time.Millisecond, "0.01", true}} {
		for _, who := range []string{"lvskit", "keepalived"} {
			b.Run(ivl.name+"/"+who, func(b *testing.B) {
				// 0 master (keepalived), 1 backup under test, 2 observer,
				// 3 junk source (unicast to the backup, so that the observer
				// does not have to wade through it).
				l := newLAN(b, 4)
				obs := newObserver(b, l.hosts[2])
				if ivl.flood {
					flood(b, l.hosts[3], l.v4(1, 24).Addr(), 10000)
				}
				vip := netip.MustParsePrefix("10.77.0.100/32")
				ka := kaInstance{name: "VI_1", version: ivl.version, vrid: 51, advert: ivl.adv, vip: vip}
				backupPrio := 100
				m, _ := NewMachine(Election{Version: uint8(ivl.version), Priority: uint8(backupPrio), Interval: ivl.ivl}, nil)
				mdi := m.MasterDownInterval()
				var lp lvskitProc
				switch who {
				case "lvskit":
					lp = startLvskit(b, l.hosts[1], Config{Name: "VI_1", Interface: "eth0", VRID: 51, Version: uint8(ivl.version),
						Priority: uint8(backupPrio), Interval: ivl.ivl, VIPs: []VIP{{Prefix: vip}}, Source: l.v4(1, 24).Addr(), GARP: GARP{Delay: -1}})
				default:
					kb := ka
					kb.priority = backupPrio
					startKeepalived(b, l.hosts[1], kaConf("backup", kb))
				}
				mac := linkMAC(b, l.hosts[1]).String()
				masterSrc := l.v4(0, 24).Addr()
				var all []time.Duration
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					km := ka
					km.priority = 200
					k := startKeepalived(b, l.hosts[0], kaConf("master", km))
					k.waitVRRPChild(b)
					// Master holds the VIP, the backup has dropped it and has
					// heard the master for longer than its Master_Down_Interval.
					waitFor(b, 30*time.Second, "master elected", func() bool {
						return hasAddr(l.hosts[0], vip.Addr()) && !hasAddr(l.hosts[1], vip.Addr())
					})
					time.Sleep(mdi + 5*ivl.ivl)
					kill := time.Now()
					k.kill()
					waitFor(b, 30*time.Second, "backup takes over", func() bool { return hasAddr(l.hosts[1], vip.Addr()) })
					var last, garp time.Time
					waitFor(b, 5*time.Second, "the observer to see the backup's GARP", func() bool {
						obs.mu.Lock()
						defer obs.mu.Unlock()
						last = lastBefore(obs.adv[masterSrc], kill)
						garp = firstAfter(obs.garpBy[mac], kill)
						return !garp.IsZero()
					})
					if last.IsZero() || garp.IsZero() {
						b.Fatalf("observer missed the master's last advert (%v) or the backup's GARP (%v)", last, garp)
					}
					all = append(all, garp.Sub(last))
					b.StartTimer()
				}
				b.StopTimer()
				if lp.Process != nil && ivl.flood {
					lp.stop(b)
					for _, line := range strings.Split(lp.Output(), "\n") {
						if strings.HasPrefix(line, "DROPS") {
							b.Logf("lvskit backup under the flood: %s", line)
						}
					}
				}
				// The median resists the odd scheduling hiccup of a loaded
				// machine; the maximum shows it.
				slices.Sort(all)
				b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "ms-takeover-p50")
				b.ReportMetric(float64(all[len(all)-1].Microseconds())/1000, "ms-takeover-max")
				b.ReportMetric(float64(mdi.Microseconds())/1000, "ms-MDI")
			})
		}
	}
}

var (
	instancesSettle = 12 * time.Second
	instancesWindow = flag.Duration("vrrp.window", 60*time.Second, "BenchmarkInstances1000: CPU measurement window")
	instancesApart  = flag.Bool("vrrp.apart", false, "BenchmarkInstances1000: measure lvskit and keepalived one after the other, each alone")
)

// BenchmarkInstances1000 runs 1,000 VRRPv2 instances at advert_int 1 (4
// interfaces × 250 VRIDs, all masters) in one lvskit process and in one
// keepalived, side by side: both run at the same time, each in its own
// namespaces, and their CPU time is read at the same instants, so that
// whatever else loads the machine weighs on both alike. It reports CPU
// (% of one core over -vrrp.window once they have settled), the ratio of
// the two, and resident memory. With -vrrp.apart each runs alone in turn
// instead, each in a sub-benchmark reporting its own figures.
func BenchmarkInstances1000(b *testing.B) { benchInstances(b, false) }

// BenchmarkInstances1000Backup is BenchmarkInstances1000 with every
// instance a backup: a keepalived with 1,000 masters (priority 200) sits at
// the far end of each side's veths, and the figures show what hearing
// 1,000 adverts a second costs.
func BenchmarkInstances1000Backup(b *testing.B) { benchInstances(b, true) }

func benchInstances(b *testing.B, backup bool) {
	var lvCPU, kaCPU, lvRate, kaRate, lvRSS, kaRSS float64
	for range b.N {
		if *instancesApart {
			// Each alone, in its own sub-benchmark so that its namespaces
			// and process are gone before the other starts; each reports
			// its own figures, keepalived's the ratio too.
			var lvAlone float64
			for _, who := range []string{"lvskit", "keepalived"} {
				b.Run(who, func(b *testing.B) {
					var cpu, rate, rss float64
					for range b.N {
						m := startInstances(b, who, 250, backup)
						time.Sleep(instancesSettle)
						t0, c0, p0 := time.Now(), cpuTime(b, m.pids), m.received(b)
						time.Sleep(*instancesWindow)
						t1, c1, p1 := time.Now(), cpuTime(b, m.pids), m.received(b)
						w := t1.Sub(t0).Seconds()
						cpu, rate, rss = cpu+100*(c1-c0).Seconds()/w, rate+float64(p1-p0)/w, max(rss, rssMiB(b, m.pids))
					}
					n := float64(b.N)
					b.ReportMetric(cpu/n, "%CPU")
					b.ReportMetric(rate/n, "pkt/s")
					b.ReportMetric(rss, "MiB-RSS")
					if who == "lvskit" {
						lvAlone = cpu / n
					} else if lvAlone > 0 {
						b.ReportMetric(lvAlone/(cpu/n), "CPU-ratio")
					}
				})
			}
			return
		}
		lv := startInstances(b, "lvskit", 250, backup)
		ka := startInstances(b, "keepalived", 250, backup)
		// All masters after Master_Down_Interval (3.6 s), second GARP
		// burst at +5 s: measure after that.
		time.Sleep(instancesSettle)
		t0, l0, k0, lp0, kp0 := time.Now(), cpuTime(b, lv.pids), cpuTime(b, ka.pids), lv.received(b), ka.received(b)
		time.Sleep(*instancesWindow)
		t1, l1, k1, lp1, kp1 := time.Now(), cpuTime(b, lv.pids), cpuTime(b, ka.pids), lv.received(b), ka.received(b)
		w := t1.Sub(t0).Seconds()
		lvCPU += 100 * (l1 - l0).Seconds() / w
		kaCPU += 100 * (k1 - k0).Seconds() / w
		lvRate += float64(lp1-lp0) / w
		kaRate += float64(kp1-kp0) / w
		lvRSS, kaRSS = max(lvRSS, rssMiB(b, lv.pids)), max(kaRSS, rssMiB(b, ka.pids))
	}
	n := float64(b.N)
	b.ReportMetric(lvCPU/n, "%CPU-lvskit")
	b.ReportMetric(kaCPU/n, "%CPU-keepalived")
	b.ReportMetric(lvCPU/kaCPU, "CPU-ratio")
	// The packets reaching the far ends (backups: heard) show both do
	// the same work.
	b.ReportMetric(lvRate/n, "pkt/s-lvskit")
	b.ReportMetric(kaRate/n, "pkt/s-keepalived")
	b.ReportMetric(lvRSS, "MiB-RSS-lvskit")
	b.ReportMetric(kaRSS, "MiB-RSS-keepalived")
}

// manyInstances is one side of BenchmarkInstances1000.
type manyInstances struct {
	pids []int
	rxNS *netns.NS // where received() counts packets
	rxIf []string
}

// received counts the packets that reached the far ends (masters) or the
// instances' interfaces (backups).
func (m manyInstances) received(tb testing.TB) uint64 {
	var n uint64
	for _, name := range m.rxIf {
		l, err := m.rxNS.Handle().LinkByName(name)
		if err != nil {
			tb.Fatal(err)
		}
		n += l.Attrs().Statistics.RxPackets
	}
	return n
}

// startInstances starts who (lvskit or keepalived) with per instances on
// each of 4 veth interfaces in a namespace of its own; as backups of a
// keepalived at the far ends when backup is set.
func startInstances(b *testing.B, who string, per int, backup bool) manyInstances {
	h, sink := netns.New(b), netns.New(b)
	const ifs = 4
	var m manyInstances
	var cfgs []Config
	var ka, far []kaInstance
	prio := 100
	for i := range ifs {
		name, sname := fmt.Sprintf("eth%d", i), fmt.Sprintf("s%d", i)
		netns.Veth(b, h, name, sink, sname)
		h.AddAddr(name, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 78, byte(i), 1}), 24))
		if backup {
			sink.AddAddr(sname, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 78, byte(i), 2}), 24))
			m.rxIf = append(m.rxIf, name)
		} else {
			m.rxIf = append(m.rxIf, sname)
		}
		for v := 1; v <= per; v++ {
			vip := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 79, byte(i), byte(v)}), 32)
			n := fmt.Sprintf("VI_%d_%d", i, v)
			cfgs = append(cfgs, Config{Name: n, Interface: name, VRID: uint8(v), Version: 2, Priority: uint8(prio), Interval: time.Second,
				VIPs: []VIP{{Prefix: vip}}, GARP: GARP{Delay: -1}}) // as vrrp_garp_master_delay 0
			ka = append(ka, kaInstance{name: n, iface: name, version: 2, vrid: v, priority: prio, advert: "1", vip: vip})
			far = append(far, kaInstance{name: n, iface: sname, version: 2, vrid: v, priority: 200, advert: "1", vip: vip})
		}
	}
	m.rxNS = sink
	if backup {
		m.rxNS = h
		k := startKeepalived(b, sink, kaConf("far", far...))
		k.waitVRRPChild(b)
	}
	if who == "lvskit" {
		p := startChild(b, h, childSpec{Instances: cfgs, Quiet: true})
		m.pids = []int{p.Cmd.Process.Pid}
		return m
	}
	k := startKeepalived(b, h, kaConf("many", ka...))
	k.waitVRRPChild(b)
	vb, err := os.ReadFile(k.vrrpPID)
	if err != nil {
		b.Fatal(err)
	}
	vp, err := strconv.Atoi(strings.TrimSpace(string(vb)))
	if err != nil {
		b.Fatal(err)
	}
	m.pids = []int{k.p.Cmd.Process.Pid, vp}
	return m
}

func rssMiB(tb testing.TB, pids []int) float64 {
	var kib float64
	for _, pid := range pids {
		kib += rssKiB(tb, pid)
	}
	return kib / 1024
}

// cpuTime sums the CPU time of every thread of the given processes, from
// /proc/PID/task/TID/schedstat (nanoseconds; /proc/PID/stat counts in
// 10 ms ticks, too coarse for a process using 1 % of a core).
func cpuTime(tb testing.TB, pids []int) time.Duration {
	var t time.Duration
	for _, pid := range pids {
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			tb.Fatal(err)
		}
		for _, task := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, task.Name()))
			if err != nil {
				continue // the thread exited
			}
			ns, _ := strconv.ParseInt(strings.Fields(string(b))[0], 10, 64)
			t += time.Duration(ns)
		}
	}
	return t
}

func rssKiB(tb testing.TB, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.Fields(v)[0], 64)
			return kb
		}
	}
	return 0
}

// flood sends rate malformed VRRP packets per second (bad checksums,
// truncations, wrong versions; all for VRID 51) with TTL 255 from h to dst
// until the benchmark ends.
func flood(tb testing.TB, h *netns.NS, dst netip.Addr, rate int) {
	tb.Helper()
	var pc *ipv4.PacketConn
	err := h.Do(func() error {
		c, err := net.ListenPacket("ip4:112", "0.0.0.0")
		if err != nil {
			return err
		}
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		pc = ipv4.NewPacketConn(c)
		return errors.Join(pc.SetTTL(255), pc.SetMulticastTTL(255), pc.SetMulticastInterface(ifi))
	})
	if err != nil {
		tb.Fatal(err)
	}
	good, _ := (&Packet{Version: 3, VRID: 51, Priority: 254, Interval: 10 * time.Millisecond,
		Addrs: []netip.Addr{netip.MustParseAddr("10.77.0.100")}}).AppendTo(nil, netip.MustParseAddr("10.77.0.3"), MulticastIPv4, 0)
	junk := [][]byte{
		append([]byte{good[0], good[1], good[2], good[3], good[4], good[5], good[6] ^ 0xff}, good[7:]...), // bad checksum
		good[:6],                          // truncated
		append([]byte{0x41}, good[1:]...), // version 4
		append([]byte{good[0], good[1], good[2], 9}, good[4:]...), // address count too big
	}
	to := &net.IPAddr{IP: dst.AsSlice()}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		start, sent := time.Now(), 0
		for {
			select {
			case <-stop:
				tb.Logf("junk flood: %d packets in %v (%.0f/s)", sent, time.Since(start).Round(time.Millisecond), float64(sent)/time.Since(start).Seconds())
				return
			case <-t.C:
			}
			// Catch up to rate × elapsed, however late the ticker was.
			for due := int(time.Since(start).Seconds() * float64(rate)); sent < due; sent++ {
				pc.WriteTo(junk[sent%len(junk)], nil, to)
			}
		}
	}()
	tb.Cleanup(func() { close(stop); <-done; pc.Close() })
}
