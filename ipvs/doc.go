// Package ipvs is a generic-netlink client for the Linux kernel's IP Virtual
// Server: services, destinations, statistics, timeouts and the sync daemon, for
// IPv4, IPv6 and firewall-mark services, in any network namespace.
package ipvs
