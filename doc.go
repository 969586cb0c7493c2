// Package lvskit is a Go SDK for Linux load balancers: what keepalived,
// ipvsadm and HAProxy's config tooling do, as importable packages.
//
// The packages stand alone; import the one you need:
//
//	vrrp            VRRP v2/v3 (IPv4/IPv6): codec, election state machine, router I/O
//	ipvs            generic-netlink client for the kernel's IP Virtual Server
//	sched           every IPVS scheduler and HAProxy balance algorithm, in pure Go
//	check           health checkers with keepalived and HAProxy rise/fall semantics
//	fwmark          firewall marks through nftables; iptables/firewalld rendering
//	keepalivedconf  lossless keepalived.conf codec and typed model
//	haproxy         lossless haproxy.cfg codec, typed model and runtime API client
//
// The examples directory holds programs that combine them, above all
// examples/lvsrouter, a keepalived-compatible router.
package lvskit
