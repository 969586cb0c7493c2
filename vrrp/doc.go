// Package vrrp implements VRRP version 2 (RFC 3768) and version 3 (RFC 9568)
// for IPv4 and IPv6: a packet codec, a pure election state machine, and the I/O
// around it (multicast and unicast peers, virtual IPs, gratuitous ARP and
// unsolicited neighbour advertisements, sync groups and tracking). It
// interoperates with keepalived.
package vrrp
