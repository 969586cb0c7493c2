// Package ipvsbench measures lvskit's ipvs client against ipvsadm 1.31,
// moby/ipvs and cloudflare/ipvs in the QEMU guest (build tag vm).
package ipvsbench
