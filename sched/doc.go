// Package sched implements every Linux IPVS scheduler (rr, wrr, lc, wlc,
// lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos) in pure Go, picking exactly
// what the kernel would, plus HAProxy's balance algorithms.
package sched
