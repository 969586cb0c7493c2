// Package sched implements every Linux IPVS scheduler (rr, wrr, lc, wlc,
// sed, nq, fo, ovf, twos, dh, sh, mh, lblc, lblcr) in pure Go, picking
// exactly what the kernel (Linux 6.1, as Debian ships it) would, plus
// HAProxy's balance algorithms.
//
// "Exactly" means: given the same destination list in the same order, the
// same weights, thresholds, connection counters, service flags and
// connection keys, Pick returns the kernel's destination, tie-breaks
// included. Two kernel habits matter for that:
//
//   - The kernel keeps destinations newest first (it inserts at the head of
//     its list), and every scan and table build walks that order. Add does
//     the same; Dests reports it.
//   - Scheduler state moves with every change: wrr resets its position on
//     any add, edit or delete; dh, sh and mh rebuild their tables; the
//     least-connection family reads the connection counters, which Bind,
//     Unbind, Activate and Deactivate keep the way the kernel's connection
//     code does (including the overload flag's thresholds).
//
// lc, wlc, sed, nq, fo and ovf scan all destinations in the kernel; here a
// tournament tree keeps the kernel's winner at hand, so Pick is O(1) and a
// counter change O(log n). twos walks the list twice per pick in the
// kernel; here each draw is a guide-table lookup into the running weight
// sums (O(1) expected), and a weight change costs O(log n) in a prefix-sum
// tree that answers the draws until the flat sums are rebuilt. Time (lblc,
// lblcr) and randomness (twos) are injected through Config (Now and Rand).
//
// The kernel facts behind the code were read from the Debian 6.1 kernel
// source (linux-source-6.1, 6.1.192) and are checked against that kernel
// in a QEMU guest (sched_vm_test.go): for example, its connection overhead
// is activeconns*256 + totalconns, and wrr, fed its destinations one at a
// time, starts on its last pass (current weight 1).
//
// HAProxy (2.6) is covered by ParseBalance and NewHAProxy: roundrobin,
// static-rr, leastconn, first, source, uri, url_param, hdr, rdp-cookie and
// random, with map-based or consistent hashing and the sdbm, djb2, wt6 and
// crc32 functions with or without avalanche. Its predictions are checked
// against a real haproxy in haproxy_test.go.
package sched
