// Package check provides health checkers (TCP, HTTP/HTTPS GET, SMTP, DNS,
// UDP, ICMP, exec script, file, HAProxy agent) with keepalived's and HAProxy's
// rise/fall policies, and a Monitor that runs many targets on one timer
// structure.
//
// # Checkers
//
// Each checker is a small value whose Check(ctx) probes once and returns a
// Result: up or down, a Reason a person can read, the underlying error,
// the latency and, for dynamic checks, a weight. Bad peers (silent, slow,
// closing mid-response, oversized, garbage) give a down Result within the
// checker's Timeout; nothing a peer sends is read without a bound.
//
//	TCP    keepalived TCP_CHECK
//	HTTP   keepalived HTTP_GET / SSL_GET (status lists, MD5 digest as genhash prints it, regex; BodyRegex is keepalived's url regex with its options and offsets)
//	SMTP   keepalived SMTP_CHECK
//	DNS    keepalived DNS_CHECK
//	UDP    keepalived UDP_CHECK
//	ICMP   keepalived PING_CHECK (ping socket, or raw socket as root)
//	Exec   keepalived MISC_CHECK, with misc_dynamic
//	File   keepalived FILE_CHECK / track_file
//	Agent  HAProxy agent-check; AgentServer serves the agent side
//
// # Policies
//
// A Policy turns results into a state and a schedule: Keepalived (retry,
// delay_before_retry, delay_loop, warmup, alpha, omega) and HAProxy (rise,
// fall, inter, fastinter, downinter). Their machines are pure: time enters
// only as the delays they return.
//
// # Monitor
//
// A Monitor runs any number of targets with one timer over a heap of due
// times. Each check is due one interval after the previous one was due,
// not after it finished, so schedules do not drift; first checks are
// spread over the first interval. Targets can be added, updated and
// removed while it runs; transitions go to a callback. NewMonitor starts
// nothing: Run(ctx) runs the checks until ctx ends, and Close stops them
// and releases the Monitor.
//
// Like HAProxy, a Monitor on the system clock is an event loop: TCP and
// plain HTTP checks run on its scheduling goroutine, which waits on their
// sockets with epoll (given more than one P to hold while it sleeps), with
// no goroutine or context per TCP check. With CAP_NET_RAW a TCP check is
// a half-open probe (TCP.Probe, ProbeAuto): one SYN sent on a raw socket
// shared by all checks from the same source address (bound to it, so the
// host's other TCP traffic is not copied to it), answers read in batches
// and matched to their
// probes by sequence number, no socket of ours per check; without it, it
// reuses an idle socket (connect(AF_UNSPEC) resets the connection and
// frees its port). Either way it is a real handshake as the server sees
// it: SYN, SYN-ACK, then a reset in place of the final ACK, so the server
// never accepts a connection. An
// HTTP check sends request bytes built once per checker as soon as its
// connect is issued (a socket still connecting says so, and the request
// waits for it), reads the answer at the loop's first wake-up half a
// millisecond on, and watches the socket with epoll only if the answer is
// not in by then: on a LAN or loopback a check is four system calls
// (connect, write, read, disconnect) and no allocation, and its Latency
// includes up to about a millisecond of that wait. A plain response
// (status line, single-line headers, a known length, no digest or regular
// expression) is judged in place, without net/http's reader, and without
// waiting for the end of the stream when its Content-Length says it is
// whole; anything else is read the full way, with the same verdict. Other
// checks (TLS, DNS, SMTP, scripts, ...) run on a bounded pool of worker
// goroutines. Off Linux the package builds, every check runs on the
// workers, TCP checks open and close a full connection, and Exec is down
// with an error wrapping errors.ErrUnsupported.
//
// # Scripts
//
// Exec runs its program through lvskit's one child-process runner: no
// shell unless asked, a process group of its own killed whole on timeout
// and when the program exits, output capped at 4 KiB, optionally as
// another user, and refused under ScriptSecurity as keepalived's
// enable_script_security refuses it.
//
// # BFD
//
// Bidirectional Forwarding Detection (RFC 5880, single-hop RFC 5881,
// multihop RFC 5883) detects a dead neighbour in tens of milliseconds.
// BFDPacket is the control packet codec (no allocation); BFDMachine is one
// session's pure state machine (three-way handshake, poll/final timer
// negotiation, detection time, the RFC's transmit jitter, passive role,
// simple password); BFDManager runs any number of sessions on one timer
// loop and one receive socket per family and port, with Add, Update,
// Remove, per-session counters and transitions carrying the diagnostic.
// It interoperates with FRR's bfdd and keepalived's bfd_instance.
package check
