// Package vrrp implements VRRP version 2 (RFC 3768) and version 3 (RFC 9568)
// for IPv4 and IPv6: a packet codec, a pure election state machine, and the I/O
// around it (multicast and unicast peers, virtual IPs, gratuitous ARP and
// unsolicited neighbour advertisements, sync groups and tracking). It
// interoperates with keepalived.
//
// The package has three layers:
//
//   - Packet, Parse, VerifyChecksum and Expect: the codec and the receive
//     checks. Decoding into a reused Packet and AppendTo into a caller's
//     buffer do not allocate. Both VRRPv3 IPv4 checksum dialects are
//     accepted (pseudo-header, the RFC and keepalived default, and
//     message-only, keepalived's v3_checksum_as_v2); every drop has a
//     DropReason.
//   - Machine: the election state machine (INIT, BACKUP, MASTER, FAULT)
//     with the clock and the network injected, so that tests and
//     simulations drive it deterministically.
//   - Router and Instance (Linux): raw IP protocol 112 sockets shared per
//     interface, virtual addresses through netlink, announcements, tracking
//     of interfaces, scripts, files and processes (TrackProcess), sync
//     groups, keepalived-compatible notify scripts (OnNotified follows
//     them), keepalived's gratuitous ARP pacing (GARP, including the
//     bursts a master sends on hearing a lower-priority master), its
//     answers to other masters (LowerPrioNoAdvert, HigherPrioSendAdvert)
//     and startup delay (RouterConfig.StartupDelay), virtual MAC interfaces for IPv4 and IPv6, optional
//     enforcement of non-accept mode through nftables (like keepalived's
//     vrrp_strict), and per-instance Stats. One scheduler goroutine per
//     Router fires every instance's timers, and adverts falling due
//     together leave in one sendmmsg per socket. One reader goroutine
//     serves every receiving socket: it sleeps in an epoll set of its own
//     while nothing arrives and, while adverts keep coming, reads them with
//     recvmmsg on a short grid (a twentieth of the shortest advert
//     interval, 1 to 10 ms) rather than waking for each. Every advert
//     carries its kernel receive timestamp (SO_TIMESTAMPNS), from which the
//     Master_Down_Timer restarts, and the scheduler reads what waits before
//     a Master_Down_Timer fires, so takeover precision does not depend on
//     the grid. A thousand masters, or a thousand backups, at 1 s cost less
//     CPU than keepalived's (see the README's figures). A master hears a
//     higher-priority advert up to one grid tick late.
//
// Beyond its VIPs an instance can carry what keepalived's address
// keywords give it: excluded VIPs (added with the VIPs, not advertised),
// virtual routes and rules (present only while master), another multicast
// group (Config.Group), an advert source, and a virtual MAC interface that
// adverts are sent and heard on (or sent from the base interface with
// VMACXmitBase). SetStatic puts in place, moves by difference and removes
// the addresses, routes and rules that stay whatever the state
// (keepalived's static_ipaddress, static_routes and static_rules).
//
// A Router has one netlink subscription, as keepalived's one netlink
// monitor: it follows the links and source addresses the instances track
// (their own interface and VMAC, track_interface, the advert source), each
// change decoded once and handed to the instances it concerns, whatever
// their number. Through it, as keepalived does, a Router also watches
// what its masters put in place: when someone else deletes a
// VIP, an excluded VIP, a virtual route or a virtual rule of a master,
// the instance (and every master of its sync group) resigns with a
// priority 0 advert and becomes backup with its Master_Down_Timer at the
// skew time only, so it takes MASTER back, adding everything again, unless
// another router advertises first (Machine.LeaveMaster, ReasonDeleted).
// KeepStatic restores a deleted static entry at once. NoTrack on a VIP,
// Route or Rule (keepalived no_track) leaves it alone. The instance's own
// deletions (stepping down, an Update dropping an entry, shutdown) never
// count.
//
// A Router works in one network namespace (RouterConfig.NetNS); run one
// Router per namespace. NewRouter opens nothing; Run opens the sockets and
// runs until its context ends or Close is called. Validate reports, before
// any of that, every reason Add would refuse a set of Configs.
//
// A running instance takes a new Config through Instance.Update without a
// restart (keepalived's reload): priority, advert interval, preemption,
// VIPs and excluded VIPs, virtual routes and rules, tracking and notify scripts change in
// place, a master stays master unless the new priority loses the
// election, and a VIP in both configurations never leaves the interface.
// Updatable tells beforehand whether a change can apply so (interface,
// VRID, version, family, unicast peers ... cannot: ErrNotUpdatable names
// the field).
//
// The codec, the state machine and Validate build on every GOOS; off
// Linux a Router accepts and validates instances, and Run returns an error
// wrapping errors.ErrUnsupported.
package vrrp
