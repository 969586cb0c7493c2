//go:build !purego

package sched

import "golang.org/x/sys/cpu"

// twosAVX2 says whether draw2 runs its descents in twos_amd64.s.
var twosAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasPOPCNT

// twosDraw2AVX2 is draw2's loop over the levels in AVX2: tree is the first
// node, off the levels' first nodes, t1 and t2 the two targets.
//
//go:noescape
func twosDraw2AVX2(tree *twosNode, off []int, t1, t2 uint32) (p1, p2 int)
