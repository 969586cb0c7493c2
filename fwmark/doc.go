// Package fwmark bundles ports into firewall marks through nftables for IPVS
// firewall-mark services, renders iptables, firewalld and nft equivalents, and
// prepares hosts (forwarding, non-local bind, Direct Routing ARP settings).
//
// # Marks
//
// IPVS can balance packets by firewall mark (keepalived's
// "virtual_server fwmark N") but cannot set marks itself. A [Rules] value is
// the desired state: each [Rule] gives a protocol, a destination address or
// prefix and ports or port ranges, and the mark those packets get. The
// seed's HTTP+HTTPS bundle is one rule with ports 80 and 443 and mark 80;
// its FTP service is mark 21 on port 21 and the passive range 10000-20000.
// [Rules.Validate] rejects mark 0, port 0, backward ranges, families that
// disagree with the address, and rules that would match the same packet
// with different marks, with a [*FieldError] naming the field.
//
// [Table.Apply] installs the rules into an nftables table lvskit owns (an
// inet table with a prerouting chain at mangle priority, one rule with a
// counter per port element), replacing the table in one transaction and
// leaving every other table alone. Applying the same rules again changes
// nothing. [Table.Remove] deletes the table on shutdown; [Table.Show] reads
// it back with counters.
//
// For hosts that keep their own firewall, [IptablesCommands],
// [IptablesRestore], [FirewalldRichRules], [FirewalldDirect] and [NftText]
// print the same rules in the seed's forms. [Parse] (filename, data) and
// [ParseFile] read a small config file of "mark MARK PROTOCOL DESTINATION
// PORTS" lines.
//
// # Hosts
//
// [Sysctl] reads and sets the kernel parameters LVS routers need
// (ip_forward, ip_nonlocal_bind) in the caller's network namespace or the
// one whose file Sysctl.NetNS names (as [TableConfig].NetNS and the netns
// argument of the Apply methods do: a path such as /run/netns/rs1, empty
// for the caller's). [RealServer] prepares a Direct Routing real server in one of
// the seed's three ways: the VIP on lo with arp_ignore/arp_announce, the
// VIP on the interface with an nft arp table in place of arptables, or a
// NAT redirect without the VIP. Every host change is reported as a
// [Change]; [Changes.Undo] reverts exactly what was changed.
// [SYNDrop] holds new TCP connections to some addresses (a VIP) off
// without refusing them: their SYNs are dropped in a table of its own, and
// the clients retransmit them; a node drains this way before it hands the
// VIP over.
//
// # Vocabulary and portability
//
// [Family] uses the kernel's numbers (IPv4 = 2, IPv6 = 10, zero:
// unspecified) and [Protocol] the IANA numbers with lower-case names, as
// the other lvskit packages do. Rules, rendering and parsing work on every
// GOOS; what touches the kernel (nftables, rtnetlink, namespaces) returns
// an error wrapping errors.ErrUnsupported off Linux. Sentinel errors start
// with "fwmark: ".
package fwmark
