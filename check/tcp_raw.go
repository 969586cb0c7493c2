package check

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// TCPProbe says how a TCP check makes its handshake.
type TCPProbe uint8

const (
	// ProbeAuto sends a half-open probe when the process may open raw
	// sockets (CAP_NET_RAW) and the check runs on a Monitor's loop, and
	// connects otherwise. The real server sees the same packets either
	// way (SYN, SYN-ACK, RST; see ProbeHalfOpen).
	ProbeAuto TCPProbe = iota
	// ProbeConnect always makes the handshake with connect(2) on a TCP
	// socket of our own. The connection is reset as soon as it is
	// established, before its final ACK goes out (TCP_DEFER_ACCEPT), so
	// the server's listener never queues it for accept either.
	ProbeConnect
	// ProbeHalfOpen sends a SYN from a raw socket, as a port scanner's
	// SYN scan does, and reads the answer on it: a SYN-ACK means a
	// listener answered (up), a RST that the port is closed (down at
	// once), an ICMP error that the host or port is unreachable (down at
	// once), silence until Timeout a timeout. Our kernel resets the
	// SYN-ACK, as no socket owns the connection: the server sees SYN,
	// SYN-ACK, RST, no connection is accepted and nothing reaches the
	// application (keepalived's TCP_CHECK, by contrast, completes the
	// connection and closes it, so the application accepts it). No socket
	// is opened per check: the SYNs due together go out in one sendmmsg,
	// answers are read in batches.
	// Without CAP_NET_RAW the check fails, saying why. The probe runs on
	// a Monitor's loop; a Check called directly connects.
	ProbeHalfOpen
)

// String returns "auto", "connect" or "half-open".
func (p TCPProbe) String() string {
	switch p {
	case ProbeAuto:
		return "auto"
	case ProbeConnect:
		return "connect"
	case ProbeHalfOpen:
		return "half-open"
	}
	return "probe(" + strconv.Itoa(int(p)) + ")"
}

// TCP header flags.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

// tcpHeaderLen is the length of the SYN a half-open probe sends: a TCP
// header without options.
const tcpHeaderLen = 20

// rawReply is a TCP segment read on a half-open probe's raw socket.
type rawReply struct {
	// src is the sender's address (IPv4: from the IP header; IPv6: the
	// caller fills it in from recvfrom's address).
	src          netip.Addr
	sport, dport uint16
	seq, ack     uint32
	flags        uint8
}

// synAck reports whether r answers a SYN with SYN-ACK: a listener.
func (r rawReply) synAck() bool { return r.flags&(tcpSYN|tcpACK|tcpRST) == tcpSYN|tcpACK }

// reset reports whether r is a RST (with ACK): the port is closed.
func (r rawReply) reset() bool { return r.flags&tcpRST != 0 }

// parseRawReply decodes a segment read on a raw IPPROTO_TCP socket:
// with its IPv4 header when v4 (as IPv4 raw sockets deliver them),
// without any IP header otherwise (IPv6). It reports false for anything
// too short or malformed to be an answer to a probe.
func parseRawReply(b []byte, v4 bool) (rawReply, bool) {
	var r rawReply
	if v4 {
		if len(b) < 20 || b[0]>>4 != 4 {
			return r, false
		}
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl+tcpHeaderLen || b[9] != 6 {
			return r, false
		}
		// A later fragment carries no TCP header.
		if binary.BigEndian.Uint16(b[6:8])&0x1fff != 0 {
			return r, false
		}
		r.src = netip.AddrFrom4([4]byte(b[12:16]))
		b = b[ihl:]
	}
	if len(b) < tcpHeaderLen {
		return r, false
	}
	if off := int(b[12]>>4) * 4; off < tcpHeaderLen {
		return r, false
	}
	r.sport = binary.BigEndian.Uint16(b[0:2])
	r.dport = binary.BigEndian.Uint16(b[2:4])
	r.seq = binary.BigEndian.Uint32(b[4:8])
	r.ack = binary.BigEndian.Uint32(b[8:12])
	r.flags = b[13]
	return r, true
}

// buildSYN writes a SYN without options from sport to dst with sequence
// number isn into b (tcpHeaderLen bytes). With src valid (IPv4) it fills
// in the checksum over the IPv4 pseudo-header; IPv6 leaves it to the
// kernel (IPV6_CHECKSUM).
func buildSYN(b []byte, src netip.Addr, sport uint16, dst netip.AddrPort, isn uint32) {
	_ = b[tcpHeaderLen-1]
	binary.BigEndian.PutUint16(b[0:2], sport)
	binary.BigEndian.PutUint16(b[2:4], dst.Port())
	binary.BigEndian.PutUint32(b[4:8], isn)
	binary.BigEndian.PutUint32(b[8:12], 0)
	b[12] = (tcpHeaderLen / 4) << 4
	b[13] = tcpSYN
	binary.BigEndian.PutUint16(b[14:16], 65535) // window
	binary.BigEndian.PutUint16(b[16:18], 0)     // checksum
	binary.BigEndian.PutUint16(b[18:20], 0)     // urgent pointer
	if src.IsValid() {
		binary.BigEndian.PutUint16(b[16:18], tcpChecksum(src, dst.Addr(), b[:tcpHeaderLen]))
	}
}

// ipv4HeaderLen is the length of the IPv4 header of a probe: no options.
const ipv4HeaderLen = 20

// buildIPv4 writes the IPv4 header of a probe carrying n bytes of TCP
// into b (ipv4HeaderLen bytes), for a raw socket with IP_HDRINCL: the
// kernel fills in the identification and the checksum.
func buildIPv4(b []byte, src, dst netip.Addr, n int) {
	_ = b[ipv4HeaderLen-1]
	b[0] = 4<<4 | ipv4HeaderLen/4
	b[1] = 0
	binary.BigEndian.PutUint16(b[2:4], uint16(ipv4HeaderLen+n))
	binary.BigEndian.PutUint16(b[4:6], 0)      // identification
	binary.BigEndian.PutUint16(b[6:8], 0x4000) // don't fragment
	b[8] = 64                                  // time to live
	b[9] = 6                                   // TCP
	binary.BigEndian.PutUint16(b[10:12], 0)    // checksum
	s, d := src.Unmap().As4(), dst.Unmap().As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
}

// tcpChecksum is the Internet checksum of a TCP segment with its IPv4
// pseudo-header (RFC 9293, section 3.1).
func tcpChecksum(src, dst netip.Addr, seg []byte) uint16 {
	s, d := src.Unmap().As4(), dst.Unmap().As4()
	sum := onesSum(0, s[:])
	sum = onesSum(sum, d[:])
	sum += 6 + uint32(len(seg))
	sum = onesSum(sum, seg)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// onesSum adds b to sum as big-endian 16-bit words.
func onesSum(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}
