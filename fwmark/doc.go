// Package fwmark bundles ports into firewall marks through nftables for IPVS
// firewall-mark services, renders iptables, firewalld and nft equivalents, and
// prepares hosts (forwarding, non-local bind, Direct Routing ARP settings).
package fwmark
