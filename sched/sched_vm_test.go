//go:build vm && linux

package sched

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
)

// The differential tests run in the QEMU guest against the kernel's IPVS.
// Clients are sockets of the guest itself (IPVS schedules locally
// originated connections too) bound to many addresses of a dummy
// interface. Each scheduler gets a firewall-mark service covering the
// virtual network 10.99.<mark>.0/24, so dh, lblc and lblcr see many
// destination addresses. Real servers need not exist: IPVS records its
// choice in /proc/net/ip_vs_conn when the first packet passes, and the
// dummy interface swallows what it forwards.

const vmClients = 64 // source addresses 10.1.0.1 ...

func vmRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func vmRunInput(t *testing.T, input, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(input)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s\ninput:\n%s", name, strings.Join(args, " "), err, out, input)
	}
}

// vmSetup creates the dummy interface, the client addresses, the routes
// and the nft rules that mark packets by virtual network: 10.99.<m>.0/24
// and fd99:0:0:<m>::/64 get mark m.
func vmSetup(t *testing.T, marks int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("link add lvsd0 type dummy\nlink set lvsd0 up\n")
	for i := 1; i <= vmClients; i++ {
		fmt.Fprintf(&b, "addr add %s/32 dev lvsd0\n", vmClient(i, false))
		fmt.Fprintf(&b, "addr add %s/128 dev lvsd0 nodad\n", vmClient(i, true))
	}
	b.WriteString("route add 10.99.0.0/16 dev lvsd0\nroute add 10.98.0.0/24 dev lvsd0\n")
	b.WriteString("route add fd99::/16 dev lvsd0\nroute add fd98::/64 dev lvsd0\n")
	vmRunInput(t, b.String(), "ip", "-batch", "-")
	t.Cleanup(func() { exec.Command("ip", "link", "del", "lvsd0").Run() })
	var nft strings.Builder
	nft.WriteString("table inet lvsksched {\n chain out {\n  type route hook output priority -150;\n")
	for m := 1; m <= marks; m++ {
		fmt.Fprintf(&nft, "  ip daddr 10.99.%d.0/24 meta mark set %d\n", m, m)
		fmt.Fprintf(&nft, "  ip6 daddr fd99:0:0:%x::/64 meta mark set %d\n", m, m)
	}
	nft.WriteString(" }\n}\n")
	vmRunInput(t, nft.String(), "nft", "-f", "-")
	t.Cleanup(func() { exec.Command("nft", "delete", "table", "inet", "lvsksched").Run() })
}

// vmClient is client address i: 10.1.0.i or fd01::<i>:<i>.
func vmClient(i int, v6 bool) netip.Addr {
	if !v6 {
		return netip.AddrFrom4([4]byte{10, 1, 0, byte(i)})
	}
	return netip.AddrFrom16([16]byte{0: 0xfd, 1: 0x01, 11: byte(i), 15: byte(i * 3)})
}

// vmVIP is virtual address j of mark m.
func vmVIP(m, j int, v6 bool) netip.Addr {
	if !v6 {
		return netip.AddrFrom4([4]byte{10, 99, byte(m), byte(j)})
	}
	return netip.AddrFrom16([16]byte{0: 0xfd, 1: 0x99, 7: byte(m), 13: byte(j * 7), 15: byte(j)})
}

// vmConn opens one connection attempt from src to dst: a UDP datagram, or
// a TCP SYN (a non-blocking connect that is abandoned at once). IPVS has
// scheduled it when the call returns.
func vmConn(t *testing.T, proto Protocol, src, dst netip.AddrPort) {
	t.Helper()
	typ := syscall.SOCK_DGRAM
	if proto == TCP {
		typ = syscall.SOCK_STREAM
	}
	af := syscall.AF_INET
	sa := func(a netip.AddrPort) syscall.Sockaddr {
		return &syscall.SockaddrInet4{Addr: a.Addr().As4(), Port: int(a.Port())}
	}
	if src.Addr().Is6() {
		af = syscall.AF_INET6
		sa = func(a netip.AddrPort) syscall.Sockaddr {
			return &syscall.SockaddrInet6{Addr: a.Addr().As16(), Port: int(a.Port())}
		}
	}
	fd, err := syscall.Socket(af, typ|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	if err := syscall.Bind(fd, sa(src)); err != nil {
		t.Fatalf("bind %v: %v", src, err)
	}
	err = syscall.Connect(fd, sa(dst))
	if proto == TCP {
		if err != syscall.EINPROGRESS {
			t.Fatalf("connect %v -> %v: %v", src, dst, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("connect %v -> %v: %v", src, dst, err)
	}
	// EPERM: IPVS found no destination and dropped the datagram.
	if _, err := syscall.Write(fd, []byte("x")); err != nil && err != syscall.EAGAIN && err != syscall.EPERM {
		t.Fatalf("send %v -> %v: %v", src, dst, err)
	}
}

type vmConnKey struct {
	proto Protocol
	src   netip.AddrPort
}

// vmConnTable reads /proc/net/ip_vs_conn: client -> real server. The file
// is produced in chunks that re-seek by position, so an entry expiring
// during a read (older connections of earlier subtests do) can hide
// another one. It is therefore read in large chunks, three times, and the
// readings merged: entries are keyed by unique clients and never change
// their real server.
func vmConnTable(t *testing.T) map[vmConnKey]netip.AddrPort {
	t.Helper()
	out := map[vmConnKey]netip.AddrPort{}
	for range 3 {
		vmReadConns(t, out)
	}
	return out
}

// vmConnsGone reports whether none of the clients has an entry left, in
// three separate readings.
func vmConnsGone(t *testing.T, proto Protocol, srcs []netip.AddrPort) bool {
	t.Helper()
	for range 3 {
		m := map[vmConnKey]netip.AddrPort{}
		vmReadConns(t, m)
		for _, src := range srcs {
			if _, ok := m[vmConnKey{proto, src}]; ok {
				return false
			}
		}
	}
	return true
}

func vmReadConns(t *testing.T, out map[vmConnKey]netip.AddrPort) {
	t.Helper()
	f, err := os.Open("/proc/net/ip_vs_conn")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var data []byte
	buf := make([]byte, 1<<20)
	for {
		n, err := f.Read(buf)
		data = append(data, buf[:n]...)
		if err != nil || n == 0 {
			break
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[0] == "Pro" {
			continue
		}
		var proto Protocol
		switch f[0] {
		case "TCP":
			proto = TCP
		case "UDP":
			proto = UDP
		default:
			continue
		}
		src, err1 := hexAddrPort(f[1], f[2])
		dst, err2 := hexAddrPort(f[5], f[6])
		if err1 != nil || err2 != nil {
			t.Fatalf("bad ip_vs_conn line %q", sc.Text())
		}
		out[vmConnKey{proto, src}] = dst
	}
}

// hexAddrPort parses the kernel's address forms: 8 hex digits for IPv4,
// the full colon form for IPv6; the port is hex.
func hexAddrPort(a, p string) (netip.AddrPort, error) {
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if strings.Contains(a, ":") {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return netip.AddrPort{}, err
		}
		return netip.AddrPortFrom(ip, uint16(port)), nil
	}
	b, err := hex.DecodeString(a)
	if err != nil || len(b) != 4 {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", a)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b)), uint16(port)), nil
}

// procDest parses a destination of /proc/net/ip_vs: 0A620001:0050 or
// [fd98:0000:...:0001]:0050.
func procDest(f string) (netip.AddrPort, error) {
	i := strings.LastIndexByte(f, ':')
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("bad destination %q", f)
	}
	return hexAddrPort(strings.Trim(f[:i], "[]"), f[i+1:])
}

// vmDest is a real server line: 10.98.0.<n>:80 or [fd98::<n>]:80 with
// weight and thresholds.
type vmDest struct {
	n      int
	weight int
	upper  uint32
	v6     bool
}

func (d vmDest) addr() netip.AddrPort {
	if d.v6 {
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte{0: 0xfd, 1: 0x98, 15: byte(d.n)}), 80)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 98, 0, byte(d.n)}), 80)
}

func (d vmDest) ipvsadm(op string, mark int) string {
	s := fmt.Sprintf("%s -f %d -r %s -g -w %d", op, mark, d.addr(), d.weight)
	if d.v6 {
		// ipvsadm learns a firewall-mark service's family from -6.
		s = fmt.Sprintf("%s -f %d -6 -r %s -g -w %d", op, mark, d.addr(), d.weight)
	}
	if d.upper > 0 {
		s += fmt.Sprintf(" -x %d", d.upper)
	}
	return s
}

type vmCase struct {
	sched string
	flags string // ipvsadm -b
	bits  uint32
	v6    bool
}

func TestVMSchedulersMatchKernel(t *testing.T) {
	testenv.NeedVM(t)
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "ipvsadm")
	testenv.NeedTool(t, "nft")
	cases := []vmCase{
		{sched: "rr"}, {sched: "wrr"}, {sched: "lc"}, {sched: "wlc"}, {sched: "sed"}, {sched: "nq"},
		{sched: "fo"}, {sched: "ovf"}, {sched: "dh"}, {sched: "sh"},
		{sched: "sh", flags: "sh-fallback,sh-port", bits: FlagFallback | FlagPort},
		{sched: "mh"}, {sched: "mh", flags: "mh-fallback,mh-port", bits: FlagFallback | FlagPort},
		{sched: "lblc"}, {sched: "lblcr"},
		{sched: "wlc", v6: true}, {sched: "dh", v6: true}, {sched: "sh", v6: true},
		{sched: "mh", flags: "mh-port", bits: FlagPort, v6: true}, {sched: "lblcr", v6: true},
	}
	vmSetup(t, len(cases))
	t.Cleanup(func() { exec.Command("ipvsadm", "-C").Run() })
	dests := []vmDest{{n: 1, weight: 3}, {n: 2, weight: 1}, {n: 3}, {n: 4, weight: 2, upper: 6}, {n: 5, weight: 5}, {n: 6, weight: 1}}
	const conns = 240
	for ci, c := range cases {
		mark := ci + 1
		name := c.sched
		if c.flags != "" {
			name += "+" + c.flags
		}
		if c.v6 {
			name += "/ipv6"
		}
		t.Run(name, func(t *testing.T) {
			del := []string{"-D", "-f", strconv.Itoa(mark)}
			if c.v6 {
				del = append(del, "-6")
			}
			var in strings.Builder
			fmt.Fprintf(&in, "-A -f %d -s %s", mark, c.sched)
			if c.v6 {
				in.WriteString(" -6")
			}
			if c.flags != "" {
				fmt.Fprintf(&in, " -b %s", c.flags)
			}
			in.WriteString("\n")
			s, err := New(c.sched, &Config{Flags: c.bits})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range dests {
				d.v6 = c.v6
				in.WriteString(d.ipvsadm("-a", mark) + "\n")
				if err := s.Add(Dest{Addr: d.addr(), Weight: d.weight, UpperThreshold: d.upper}); err != nil {
					t.Fatal(err)
				}
			}
			vmRunInput(t, in.String(), "ipvsadm", "-R")
			t.Cleanup(func() { exec.Command("ipvsadm", del...).Run() })
			// The kernel's own list order, newest first, is ours.
			list := vmRun(t, "cat", "/proc/net/ip_vs")
			var kernelOrder, ourOrder []netip.AddrPort
			for _, line := range strings.Split(list, "\n") {
				if f := strings.Fields(line); len(f) > 1 && f[0] == "->" && !strings.HasPrefix(f[1], "Remote") {
					a, err := procDest(f[1])
					if err != nil {
						t.Fatal(err)
					}
					kernelOrder = append(kernelOrder, a)
				}
			}
			for _, d := range s.Dests() {
				ourOrder = append(ourOrder, d.Addr)
			}
			if fmt.Sprint(kernelOrder) != fmt.Sprint(ourOrder) {
				t.Fatalf("list order: kernel %v, ours %v", kernelOrder, ourOrder)
			}

			type sent struct {
				key  Key
				want netip.AddrPort
				ok   bool
			}
			var log []sent
			for i := 0; i < conns; i++ {
				if i == conns/2 {
					// Destination updates mid-stream: weight change,
					// removal (its connections stay), addition.
					edit := vmDest{n: 2, weight: 4, v6: c.v6}
					add := vmDest{n: 7, weight: 2, v6: c.v6}
					removed := dests[4]
					removed.v6 = c.v6
					vmRun(t, "ipvsadm", strings.Fields(edit.ipvsadm("-e", mark))...)
					rm := []string{"-d", "-f", strconv.Itoa(mark), "-r", removed.addr().String()}
					if c.v6 {
						rm = append(rm, "-6")
					}
					vmRun(t, "ipvsadm", rm...)
					vmRun(t, "ipvsadm", strings.Fields(add.ipvsadm("-a", mark))...)
					if err := s.Edit(Dest{Addr: edit.addr(), Weight: edit.weight}); err != nil {
						t.Fatal(err)
					}
					if err := s.Remove(removed.addr()); err != nil {
						t.Fatal(err)
					}
					if err := s.Add(Dest{Addr: add.addr(), Weight: add.weight}); err != nil {
						t.Fatal(err)
					}
				}
				proto := TCP
				if i%3 == 2 {
					proto = UDP
				}
				src := netip.AddrPortFrom(vmClient(1+(i*7)%vmClients, c.v6), uint16(20000+mark*1000+i))
				dst := netip.AddrPortFrom(vmVIP(mark, 1+(i*5)%40, c.v6), 80)
				k := Key{Proto: proto, Src: src, Dst: dst}
				vmConn(t, proto, src, dst)
				want, ok := s.Connect(k, proto == TCP)
				log = append(log, sent{k, want, ok})
			}
			table := vmConnTable(t)
			mismatch, scheduled := 0, 0
			perDest := map[netip.AddrPort]int{}
			for i, e := range log {
				if e.ok {
					scheduled++
					perDest[e.want]++
				}
				got, found := table[vmConnKey{e.key.Proto, e.key.Src}]
				if found != e.ok || (found && got != e.want) {
					mismatch++
					if mismatch <= 5 {
						t.Errorf("conn %d %v: kernel %v (found %v), sched %v (ok %v)", i, e.key, got, found, e.want, e.ok)
					}
				}
			}
			if mismatch > 0 {
				t.Fatalf("%d of %d connections differ", mismatch, len(log))
			}
			if scheduled < 20 {
				t.Fatalf("only %d of %d connections were scheduled", scheduled, len(log))
			}
			t.Logf("%d of %d connections scheduled identically: %v", scheduled, len(log), perDest)
		})
	}
}

// TestVMConnExpiry lets the kernel expire connections between two bursts,
// so that unbinding (Unbind) and the overload flag's lower threshold are
// compared with the kernel too: every real server has an upper threshold,
// reached in the first burst.
func TestVMConnExpiry(t *testing.T) {
	testenv.NeedVM(t)
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "ipvsadm")
	testenv.NeedTool(t, "nft")
	scheds := []string{"rr", "wlc", "lc", "sh"}
	const base = 40 // marks 41... keep clear of the other test's
	vmSetup(t, base+len(scheds))
	t.Cleanup(func() { exec.Command("ipvsadm", "--set", "0", "0", "300").Run() })
	t.Cleanup(func() { exec.Command("ipvsadm", "-C").Run() })
	dests := []vmDest{{n: 1, weight: 2, upper: 5}, {n: 2, weight: 1, upper: 3}, {n: 3, weight: 3, upper: 8}}
	for si, name := range scheds {
		mark := base + 1 + si
		t.Run(name, func(t *testing.T) {
			s, err := New(name, nil)
			if err != nil {
				t.Fatal(err)
			}
			var in strings.Builder
			fmt.Fprintf(&in, "-A -f %d -s %s\n", mark, name)
			for _, d := range dests {
				in.WriteString(d.ipvsadm("-a", mark) + "\n")
				if err := s.Add(Dest{Addr: d.addr(), Weight: d.weight, UpperThreshold: d.upper}); err != nil {
					t.Fatal(err)
				}
			}
			vmRunInput(t, in.String(), "ipvsadm", "-R")
			t.Cleanup(func() { exec.Command("ipvsadm", "-D", "-f", strconv.Itoa(mark)).Run() })
			vmRun(t, "ipvsadm", "--set", "0", "0", "300")
			port := 50000 + si*400
			type pair struct{ src, dst netip.AddrPort }
			burst := func(from, n int) []pair {
				var sent []pair
				picks := map[netip.AddrPort]netip.AddrPort{}
				for i := from; i < from+n; i++ {
					src := netip.AddrPortFrom(vmClient(1+(i*11)%vmClients, false), uint16(port+i))
					dst := netip.AddrPortFrom(vmVIP(mark, 1+i%30, false), 80)
					vmConn(t, UDP, src, dst)
					want, ok := s.Connect(Key{Proto: UDP, Src: src, Dst: dst}, false)
					picks[src] = want
					if ok {
						sent = append(sent, pair{src, dst})
					}
				}
				table := vmConnTable(t)
				for i := from; i < from+n; i++ {
					src := netip.AddrPortFrom(vmClient(1+(i*11)%vmClients, false), uint16(port+i))
					want := picks[src]
					got, found := table[vmConnKey{UDP, src}]
					if found != want.IsValid() || (found && got != want) {
						t.Fatalf("conn %d from %v: kernel %v (found %v), sched %v", i, src, got, found, want)
					}
				}
				return sent
			}
			first := burst(0, 20)
			for _, d := range s.Dests() {
				if !d.Overloaded {
					t.Fatalf("%v not overloaded after the first burst: %+v", d.Addr, d)
				}
			}
			// Expire the burst: with the UDP timeout at 1 s, one more
			// datagram on each connection sets its timer to 1 s (the
			// timeout is taken from the table on every packet), however
			// long the burst took. Then wait (bounded) until the kernel
			// has dropped them all, and unbind the same connections here.
			vmRun(t, "ipvsadm", "--set", "0", "0", "1")
			for _, p := range first {
				vmConn(t, UDP, p.src, p.dst)
			}
			var srcs []netip.AddrPort
			for _, p := range first {
				srcs = append(srcs, p.src)
			}
			for i := 0; !vmConnsGone(t, UDP, srcs); i++ {
				if i == 300 {
					t.Fatal("connections still in the kernel's table after 30 s")
				}
				time.Sleep(100 * time.Millisecond)
			}
			// All connections were UDP (inactive): unbind them all.
			for _, d := range s.Dests() {
				for n := 0; n < d.InactConns; n++ {
					if err := s.Unbind(d.Addr, false); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, d := range s.Dests() {
				if d.Overloaded || d.InactConns != 0 {
					t.Fatalf("%v after expiry: %+v", d.Addr, d)
				}
			}
			vmRun(t, "ipvsadm", "--set", "0", "0", "300")
			burst(20, 20)
		})
	}
}
