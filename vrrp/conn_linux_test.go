package vrrp

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// appendCmsg appends one control message as the kernel lays it out.
func appendCmsg(b []byte, level, typ int32, data []byte) []byte {
	start := len(b)
	b = append(b, make([]byte, unix.CmsgSpace(len(data)))...)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[start]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[start+unix.CmsgLen(0):], data)
	return b
}

func TestParseCmsgs(t *testing.T) {
	hop := []byte{0, 0, 0, 0}
	*(*int32)(unsafe.Pointer(&hop[0])) = 255
	var pi unix.Inet6Pktinfo
	pi.Addr, pi.Ifindex = MulticastIPv6.As16(), 7
	pib := unsafe.Slice((*byte)(unsafe.Pointer(&pi)), unix.SizeofInet6Pktinfo)
	oob := appendCmsg(nil, unix.IPPROTO_IPV6, unix.IPV6_HOPLIMIT, hop)
	oob = appendCmsg(oob, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, pib)
	info := RecvInfo{TTL: -1}
	parseCmsgs(oob, &info)
	if info.TTL != 255 || info.IfIndex != 7 || info.Dst != MulticastIPv6 {
		t.Fatalf("IPv6: %+v", info)
	}

	var pi4 unix.Inet4Pktinfo
	pi4.Ifindex, pi4.Addr = 3, MulticastIPv4.As4()
	pi4b := unsafe.Slice((*byte)(unsafe.Pointer(&pi4)), unix.SizeofInet4Pktinfo)
	oob = appendCmsg(nil, unix.IPPROTO_IP, unix.IP_PKTINFO, pi4b)
	oob = appendCmsg(oob, unix.IPPROTO_IP, unix.IP_TTL, hop)
	info = RecvInfo{TTL: -1}
	parseCmsgs(oob, &info)
	if info.TTL != 255 || info.IfIndex != 3 || info.Dst != MulticastIPv4 {
		t.Fatalf("IPv4: %+v", info)
	}

	// The kernel's receive timestamp (SO_TIMESTAMPNS) comes back as is.
	ts := unix.NsecToTimespec(1_700_000_000_123_456_789)
	tsb := unsafe.Slice((*byte)(unsafe.Pointer(&ts)), unsafe.Sizeof(ts))
	oob = appendCmsg(oob, unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, tsb)
	info = RecvInfo{TTL: -1}
	if got := parseCmsgs(oob, &info); got != 1_700_000_000_123_456_789 || info.TTL != 255 {
		t.Fatalf("timestamp: %d, %+v", got, info)
	}
	if got := parseCmsgs(oob[:len(oob)-1], &info); got != 0 {
		t.Fatalf("truncated timestamp: %d, want 0", got)
	}

	// Truncated and random control data leave fields unknown, never panic.
	for n := range len(oob) {
		info = RecvInfo{TTL: -1}
		parseCmsgs(oob[:n], &info)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	junk := make([]byte, 64)
	for range 1000 {
		for i := range junk {
			junk[i] = byte(rng.IntN(256))
		}
		info = RecvInfo{TTL: -1}
		parseCmsgs(junk[:rng.IntN(len(junk)+1)], &info)
	}
	if info.Src != (netip.Addr{}) {
		t.Fatal("parseCmsgs set the source")
	}
}

func TestRxGrid(t *testing.T) {
	for _, c := range []struct{ ivl, want time.Duration }{
		{time.Second, 10 * time.Millisecond},
		{100 * time.Millisecond, 5 * time.Millisecond},
		{10 * time.Millisecond, time.Millisecond},
		{40 * time.Second, 10 * time.Millisecond},
	} {
		if got := rxGrid(c.ivl); got != c.want {
			t.Errorf("rxGrid(%v) = %v, want %v", c.ivl, got, c.want)
		}
	}
}
