// Package ipvs is a generic-netlink client for the Linux kernel's IP Virtual
// Server: services, destinations, statistics, timeouts and the sync daemon, for
// IPv4, IPv6 and firewall-mark services, in any network namespace.
//
// The package has a pure core and a thin kernel layer:
//
//   - types.go models IPVS (Service, Destination, Stats, Daemon, Timeouts,
//     Info) with the shared vocabulary (Family: AF numbers, Protocol: IANA
//     numbers with lower-case names). uapi.go holds the kernel's constants,
//     encode.go the request encoders, attrdecode.go and msgdecode.go the
//     reply decoders, and decode.go the public DecodeService and
//     DecodeDestination, which report malformed input with the name of the
//     field (ErrDecode); a fuzz target checks they never panic.
//   - apply.go computes the fewest operations that turn one state into
//     another (Diff): a weight change is one destination update, an
//     unchanged state is no operation. Applier remembers what it applied, so
//     that a reload with one change costs one request and no dump; its
//     ApplyServices takes only the services that changed, so that one
//     health change among 10,000 services costs one service's diff. What
//     it remembers is compact (apply_state.go: 40 bytes per destination,
//     no pointers), and ApplyConfig.Stream runs a first apply in batches
//     as it computes them. DestinationSettings (settings.go) is a
//     Destination without counters, for callers that hold many.
//   - client.go and conn_linux.go talk to the kernel (conn_others.go fails
//     with errors.ErrUnsupported elsewhere). Dial opens a Client (a nil
//     *Config, or Config.NetNS naming another network namespace by the
//     path of its file); Close is idempotent; every call takes a
//     context, the Client is safe for concurrent use, and failures are
//     *OpError values that match ErrExists, ErrNotFound, ErrNoScheduler,
//     ErrInvalid with errors.Is. Writes are pipelined: many requests per
//     sendmsg, and only the last of a batch asks for an acknowledgement.
//     Services come from one multipart dump; destinations need one dump per
//     service (the kernel wants the service in the request, and a netlink
//     socket runs one dump at a time), each read with one recvmmsg.
//
// ipvsadm's output format (-L -n, -S -n) lives with the ipvsadm clone in
// examples/ipvsadm, which compares it byte for byte with ipvsadm 1.31.
//
// The kernel facts this relies on are those of include/uapi/linux/ip_vs.h
// and net/netfilter/ipvs/ip_vs_ctl.c (Linux 6.1).
package ipvs
